/**
 * The libraries taskloom is compared with besides Piscina, which it depends on: tinypool,
 * workerpool and poolifier (pools), and p-queue (a queue on the main thread). They are
 * development dependencies of the repository; a project that installs taskloom may have some of
 * them or none. Each is imported if it is installed, as Node resolves it from this package (so
 * from the project's node_modules), and the scenarios leave out the ones that are not, which
 * the run lists with the reason.
 */
export const PEER_NAMES = ['tinypool', 'workerpool', 'poolifier', 'p-queue'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface Peers {
  readonly tinypool: typeof import('tinypool').default | undefined;
  readonly workerpool: typeof import('workerpool') | undefined;
  readonly poolifier: typeof import('poolifier') | undefined;
  readonly 'p-queue': typeof import('p-queue').default | undefined;
}

/** A peer that was not measured, and why. */
export interface Skipped {
  readonly name: PeerName;
  readonly reason: string;
}

const skipped: Skipped[] = [];

/** Imports `name`, or records why it cannot be and resolves with undefined. */
async function load<T>(name: PeerName, importer: () => Promise<T>): Promise<T | undefined> {
  try {
    return await importer();
  } catch (error) {
    const isMissing =
      error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && error.message.includes(`'${name}'`);
    skipped.push({
      name,
      reason: isMissing ? 'not installed' : `could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    });
    return undefined;
  }
}

export const PEERS: Peers = {
  tinypool: await load('tinypool', async () => (await import('tinypool')).default),
  workerpool: await load('workerpool', async () => (await import('workerpool')).default),
  poolifier: await load('poolifier', () => import('poolifier')),
  'p-queue': await load('p-queue', async () => (await import('p-queue')).default),
};

/** The peers left out of this run, in the order of PEER_NAMES. */
export const SKIPPED: readonly Skipped[] = skipped;

/**
 * The line a run prints about the peers it left out, naming the command that adds them; undefined
 * when every peer was measured.
 */
export function skippedNote(): string | undefined {
  if (SKIPPED.length === 0) return undefined;
  const missing = SKIPPED.filter((peer) => peer.reason === 'not installed').map((peer) => peer.name);
  return (
    `Not measured: ${SKIPPED.map((peer) => `${peer.name} (${peer.reason})`).join(', ')}.` +
    (missing.length === 0 ? '' : ` To compare with them, install them next to taskloom: npm install --save-dev ${missing.join(' ')}`)
  );
}
