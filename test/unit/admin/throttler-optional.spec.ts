import type { ModuleRef } from '@nestjs/core';
import {
  AdminAuthenticator,
  generateApiKey,
  hashApiKey,
  InvalidAdminAuthOptionsError,
} from '../../../lib/integrations/admin/auth';

/*
 * @nestjs/throttler is an optional peer: the authenticator loads it only when rate limiting is on.
 * Here the package cannot be resolved (as in an app that did not install it), and every load
 * attempt is counted.
 */
let loads = 0;
jest.mock('@nestjs/throttler', () => {
  loads++;
  throw Object.assign(new Error("Cannot find module '@nestjs/throttler'"), {
    code: 'MODULE_NOT_FOUND',
  });
});

const auth = { apiKeys: { admin: [hashApiKey(generateApiKey())], tenants: {} } };
const moduleRef = {} as ModuleRef;

beforeEach(() => {
  loads = 0;
});

it('never loads @nestjs/throttler with rateLimit: false', async () => {
  const authenticator = await AdminAuthenticator.create({ auth, rateLimit: false }, moduleRef);
  expect(authenticator).toBeInstanceOf(AdminAuthenticator);
  expect(loads).toBe(0);
});

it('fails the boot with a typed error saying how to fix it when rate limiting needs it', async () => {
  const boot = AdminAuthenticator.create({ auth }, moduleRef);
  await expect(boot).rejects.toThrow(InvalidAdminAuthOptionsError);
  await expect(boot).rejects.toThrow(/npm install @nestjs\/throttler, or set rateLimit: false/);
  expect(loads).toBe(1);
});
