/**
 * The grant check (confused-deputy prevention): a task's worker may name objects only under
 * `tasks/{task_id}/`, after normalisation. Anything else — `..`, absolute keys, encoded escapes,
 * another task's prefix — is a 403, never a 400, so a probing worker learns nothing about which keys
 * are well-formed elsewhere. Returns the key in its canonical form.
 */
import { isUnderPrefix, normalizeKey } from '../../../blob/keys.js';
import { DroverError } from '../../../domain/errors.js';
import { taskPrefix } from '../../views/task.js';

export function grantedKey(taskId: string, key: string): string {
  const prefix = taskPrefix(taskId);
  if (!isUnderPrefix(key, prefix)) {
    throw new DroverError('forbidden', `object key is outside this task's grant (${prefix})`, { prefix, key: key.slice(0, 256) });
  }
  return normalizeKey(key);
}
