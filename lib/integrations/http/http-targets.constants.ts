/** Injection token of the resolved HttpTargetsModule options. */
export const HTTP_TARGETS_OPTIONS = Symbol('HTTP_TARGETS_OPTIONS');

/** The handler name of HTTP target schedules. */
export const HTTP_HANDLER = 'http';

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_COOL_DOWN_MS = 30_000;

/** Request headers the module sets itself; a payload may not set them. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const FENCING_TOKEN_HEADER = 'x-fencing-token';
export const FIRE_TIME_HEADER = 'x-scheduler-fire-time';
export const ATTEMPT_HEADER = 'x-scheduler-attempt';
