/** The built-in actions a job may name with `"action"`. */
import { actions, type BuiltInActions } from '../actions/handlers.js';
import type { Handler } from '../shared/handler.js';

export type ActionName = keyof BuiltInActions;

/** The actions a job file may name, in the order error messages list them. */
export const ACTION_NAMES = Object.keys(actions) as readonly ActionName[];

export function isActionName(value: unknown): value is ActionName {
  return typeof value === 'string' && Object.hasOwn(actions, value);
}

/** The worker handler of a built-in action. */
export function builtInAction(name: ActionName): Handler {
  return actions[name];
}
