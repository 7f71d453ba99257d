/** Metadata key on each admin route handler: its operation in the route table (ADMIN_ROUTES). */
export const ADMIN_ROUTE_METADATA = 'redis-scheduler:admin-route';

/** Injection token of the AdminAuthenticator: authenticates and rate-limits admin requests. */
export const SCHEDULER_ADMIN_AUTHENTICATOR = Symbol('SCHEDULER_ADMIN_AUTHENTICATOR');

/** Where the admin API is mounted when `path` is not given. */
export const DEFAULT_ADMIN_PATH = 'scheduler';

/** Runs listed by GET .../runs when `limit` is not given. */
export const DEFAULT_RUNS_LIMIT = 50;

/** Upcoming fire times in GET .../schedules/:id when `next` is not given. */
export const DEFAULT_NEXT_FIRES = 5;

/** Injection token of the OpenAPI document served at GET /{path}/openapi.json. */
export const OPENAPI_DOCUMENT = Symbol('SCHEDULER_ADMIN_OPENAPI_DOCUMENT');
