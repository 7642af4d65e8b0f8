/**
 * `npm run bench:readme [-- <readme.md> [<results.md>]]`: copies the headline of a benchmark
 * report (by default bench/results/latest.md, the last complete full run) into the README
 * (by default README.md), replacing what lies between the two markers, so that the README's
 * figures are those of one committed results file, naming its commit, and never copied by hand.
 * The report's JSON next to it must be of a full run; a commit with "-dirty" is warned about,
 * since then the figures measured changes that no commit holds.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADLINE_END, HEADLINE_START } from './lib/headline.js';
import { PACKAGE_ROOT } from './lib/paths.js';

/** The text between the markers, markers included, or why it cannot be found. */
function block(text: string, file: string): { start: number; end: number } {
  const start = text.indexOf(HEADLINE_START);
  const end = text.indexOf(HEADLINE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new RangeError(`Expected ${file} to hold a ${HEADLINE_START} line and, after it, a ${HEADLINE_END} line`);
  }
  return { start, end: end + HEADLINE_END.length };
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
  const from = block(results, resultsPath);
  const readme = readFileSync(readmePath, 'utf8');
  const to = block(readme, readmePath);
  const updated = readme.slice(0, to.start) + results.slice(from.start, from.end) + readme.slice(to.end);
  if (updated === readme) {
    console.log(`${readmePath} already quotes ${resultsPath} (commit ${commit})`);
    return;
  }
  writeFileSync(readmePath, updated);
  console.log(`${readmePath}: the performance table now quotes ${resultsPath} (commit ${commit})`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`bench:readme: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
