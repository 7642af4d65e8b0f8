/**
 * Hands Piscina a result together with what moves with it. Piscina moves a result's transfer list
 * only when the result carries the mark of its own `move()`, a symbol private to its module, so
 * that module is loaded here, on first use: a worker whose tasks move nothing never loads it.
 */
import type { Movable } from '../shared/transfer.js';

const load = () => import('piscina');
type PiscinaModule = Awaited<ReturnType<typeof load>>;

let piscina: PiscinaModule | undefined;

/** `value`, marked so that Piscina moves `list` to the main thread with it: at once, once Piscina is loaded. */
export function withTransfer(value: object, list: readonly Movable[]): unknown {
  if (piscina !== undefined) return mark(piscina, value, list);
  return load().then((loaded) => {
    piscina = loaded;
    return mark(loaded, value, list);
  });
}

function mark({ move, transferableSymbol, valueSymbol }: PiscinaModule, value: object, list: readonly Movable[]): unknown {
  const transferable = { [transferableSymbol]: list, [valueSymbol]: value };
  return move(transferable as unknown as Parameters<typeof move>[0]);
}
