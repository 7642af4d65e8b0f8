/**
 * The comlink side of the manager's channels, loaded only when something uses it: a worker
 * whose handlers never touch `task.manager` never loads comlink at all.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { createManagerClient, type ConnectedManager, type EndpointLike } from '../shared/client.js';
import type { ManagerEndpointApi, WorkerMessage } from '../shared/messages.js';
import { portEndpoint } from '../shared/port-endpoint.js';
import { received } from '../shared/validate.js';

/** Opens this worker's channel to the manager: the port goes to the main thread over `control`. */
export function openManagerChannel(control: MessagePort): EndpointLike {
  const { port1, port2 } = new MessageChannel();
  const message: WorkerMessage = { type: 'manager-port', port: port2 };
  control.postMessage(message, [port2]);
  port1.unref();
  return Comlink.wrap<ManagerEndpointApi>(portEndpoint(port1));
}

/** Wraps the manager's end of a port (from `createClientPort()`) for use in this thread. */
export function connectPort(port: MessagePort): ConnectedManager {
  // Checked as a value of any type: JavaScript callers pass anything.
  const given: unknown = port;
  if (given === null || typeof given !== 'object' || typeof (given as Partial<MessagePort>).postMessage !== 'function') {
    throw new TypeError(`Expected \`port\` to be a MessagePort from manager.createClientPort(), ${received(port)}`);
  }
  const remote = Comlink.wrap<ManagerEndpointApi>(portEndpoint(port));
  const close = (): void => {
    remote[Comlink.releaseProxy]();
    port.close();
  };
  return { ...createManagerClient(remote, undefined), close, [Symbol.dispose]: close };
}
