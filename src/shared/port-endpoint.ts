/** Adapts a Node.js MessagePort to the endpoint comlink expects (postMessage and message listeners). */
import type { MessagePort } from 'node:worker_threads';
import type { Endpoint } from 'comlink';

type Listener = Parameters<Endpoint['addEventListener']>[1];

export function portEndpoint(port: MessagePort): Endpoint {
  const bound = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: readonly unknown[]) => port.postMessage(message, transfer as never),
    addEventListener: (_type: string, listener: Listener) => {
      const onMessage = (data: unknown): void => {
        if (typeof listener === 'function') listener({ data } as never);
        else listener.handleEvent({ data } as never);
      };
      bound.set(listener, onMessage);
      port.on('message', onMessage);
    },
    removeEventListener: (_type: string, listener: Listener) => {
      const onMessage = bound.get(listener);
      if (onMessage === undefined) return;
      port.off('message', onMessage);
      bound.delete(listener);
    },
    start: () => port.start(),
  } as Endpoint;
}
