import { InvalidOptionsError, SchedulerError } from '../../../index';

/**
 * The errors of the admin module's authentication. No message ever holds a key or a hash value:
 * an entry is named by its place in the options (`auth.apiKeys.tenants["acme"][0]`).
 */

/** hashApiKey() was given a value that cannot be a key (not a string, or too short to be safe). */
export class InvalidApiKeyError extends SchedulerError {
  constructor(reason: string) {
    super('INVALID_API_KEY', `Invalid API key: ${reason}.`);
  }
}

/**
 * An `auth` or `rateLimit` option of SchedulerAdminModule that cannot be used as given (thrown at
 * boot). `option` names the entry, e.g. `auth.apiKeys.admin[1]`.
 */
export class InvalidAdminAuthOptionsError extends InvalidOptionsError {}
