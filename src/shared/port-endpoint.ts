/** Adapts a Node.js MessagePort to the endpoint comlink expects (postMessage and message listeners). */
import type { MessagePort, Transferable } from 'node:worker_threads';

/** What a listener receives: comlink reads only `data`. */
interface PortMessageEvent {
  readonly data: unknown;
}

/** A message listener, as comlink registers it: a function, or an object with `handleEvent`. */
type PortMessageListener = ((event: PortMessageEvent) => void) | { handleEvent(event: PortMessageEvent): void };

/**
 * comlink's `Endpoint`, in Node's terms. comlink declares it with DOM types (`Transferable`,
 * `EventListenerOrEventListenerObject`) that a Node build does not have, so it is spelled out here.
 */
export interface PortEndpoint {
  postMessage(message: unknown, transfer?: readonly Transferable[]): void;
  addEventListener(type: string, listener: PortMessageListener): void;
  removeEventListener(type: string, listener: PortMessageListener): void;
  start(): void;
}

export function portEndpoint(port: MessagePort): PortEndpoint {
  const bound = new WeakMap<PortMessageListener, (data: unknown) => void>();
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    addEventListener: (_type, listener) => {
      const onMessage = (data: unknown): void => {
        if (typeof listener === 'function') listener({ data });
        else listener.handleEvent({ data });
      };
      bound.set(listener, onMessage);
      port.on('message', onMessage);
    },
    removeEventListener: (_type, listener) => {
      const onMessage = bound.get(listener);
      if (onMessage === undefined) return;
      port.off('message', onMessage);
      bound.delete(listener);
    },
    start: () => port.start(),
  };
}
