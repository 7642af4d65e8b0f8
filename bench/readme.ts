/**
 * `npm run bench:readme [-- <readme.md> [<results.md>]]`: copies the blocks of a benchmark report
 * (by default bench/results/latest.md, the last complete full run) into the README (by default
 * README.md), each replacing what lies between the README's own pair of the same markers: the
 * headline table, the targets with their verdicts, and the distributed scenario's figures. So the
 * README's figures are those of one committed results file, naming its commit, and never copied
 * by hand. Every block of the one must be in the other. The report's JSON next to it must be of a
 * full run; a commit with "-dirty" is warned about, since then the figures measured changes that
 * no commit holds.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockMarkers } from './lib/headline.js';
import { PACKAGE_ROOT } from './lib/paths.js';

/** The names of the blocks a text holds: each `<!-- bench:NAME:start -->`, in order. */
function blockNames(text: string): string[] {
  return [...text.matchAll(/<!-- bench:([a-z-]+):start -->/g)].map((match) => match[1] as string);
}

/** Where the block `name` lies in `text`, markers included, or why it cannot be found. */
function block(text: string, file: string, name: string): { start: number; end: number } {
  const markers = blockMarkers(name);
  const start = text.indexOf(markers.start);
  const end = text.indexOf(markers.end);
  if (start === -1 || end === -1 || end < start) {
    throw new RangeError(`Expected ${file} to hold a ${markers.start} line and, after it, a ${markers.end} line`);
  }
  return { start, end: end + markers.end.length };
}

function main(): void {
  const [readmeArgument, resultsArgument] = process.argv.slice(2);
  const readmePath = readmeArgument ?? join(PACKAGE_ROOT, 'README.md');
  const resultsPath = resultsArgument ?? join(PACKAGE_ROOT, 'bench', 'results', 'latest.md');
  const jsonPath = resultsPath.replace(/\.md$/, '.json');
  if (!existsSync(jsonPath)) throw new RangeError(`Expected the report ${jsonPath} next to ${resultsPath}, found none`);
  const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as { mode?: unknown; machine?: { taskloom?: unknown } };
  if (report.mode !== 'full') throw new RangeError(`Expected ${jsonPath} to be of a full run, got a ${String(report.mode)} run`);
  const commit = String(report.machine?.taskloom);
  if (commit.endsWith('-dirty')) {
    process.stderr.write(
      `warning: the run measured uncommitted changes on top of ${commit.replace(/-dirty$/, '')}: commit, then run the benchmark again\n`,
    );
  }

  const results = readFileSync(resultsPath, 'utf8');
  const readme = readFileSync(readmePath, 'utf8');
  // The headline is always there; every other block of either file must be in both.
  const names = [...new Set(['headline', ...blockNames(results), ...blockNames(readme)])];
  let updated = readme;
  for (const name of names) {
    const from = block(results, resultsPath, name);
    const to = block(updated, readmePath, name);
    updated = updated.slice(0, to.start) + results.slice(from.start, from.end) + updated.slice(to.end);
  }
  if (updated === readme) {
    console.log(`${readmePath} already quotes ${resultsPath} (commit ${commit})`);
    return;
  }
  writeFileSync(readmePath, updated);
  console.log(`${readmePath}: ${names.join(', ')} now quote ${resultsPath} (commit ${commit})`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`bench:readme: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
