// nestjs-redis-scheduler/http: the built-in 'http' handler. Loads undici; the core never loads it.
export { HttpTargetsModule } from './http-targets.module';
export { HttpTargetBreakers } from './http-target-breakers';
export type { HttpTargetCircuit } from './http-target-breakers';
export type { CircuitState } from './circuit-breaker';
export type { HttpTargetsOptions } from './http-targets.options';
export type { HttpTargetKey } from './header-cipher';
export type { HttpTargetPayload, HttpMethod } from './http-target.payload';
export type { HttpCallResult } from './http-target.handler';
export type { HttpCallFailure } from './http-target.errors';
export {
  InvalidHttpTargetError,
  HttpTargetNotAllowedError,
  HttpTargetRejectedError,
  HttpTargetFailedError,
  HttpTargetCircuitOpenError,
} from './http-target.errors';
export { HTTP_HANDLER } from './http-targets.constants';
