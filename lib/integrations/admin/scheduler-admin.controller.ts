import { Controller, Inject, Param, Query, UseFilters, UseGuards } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisLockService, SchedulerService, type Schedule } from '../../index';
import { AdminCircuits } from './admin-circuits';
import { AdminRoute } from './admin-route.decorator';
import { ADMIN_ROUTES } from './admin-routes';
import { parseQuery } from './admin-schema';
import { ScheduleExistsError, ScheduleNotFoundError } from './admin.errors';
import {
  DEFAULT_NEXT_FIRES,
  DEFAULT_RUNS_LIMIT,
  OPENAPI_DOCUMENT,
} from './scheduler-admin.constants';
import { SchedulerAdminExceptionFilter } from './scheduler-admin.filter';
import { SchedulerAdminGuard } from './scheduler-admin.guard';
import { toScheduleInput } from './schedule-body';
import { JsonBody } from './json-body.decorator';

const routes = ADMIN_ROUTES;
/** How long a create holds (and at most waits for) its schedule's lock. */
const CREATE_LOCK_TTL_MS = 10_000;

/** 404 SCHEDULE_NOT_FOUND in place of the null the service answers for an unknown schedule. */
function found<T>(value: T | null, tenantId: string, id: string): T {
  if (value === null) throw new ScheduleNotFoundError(tenantId, id);
  return value;
}

/**
 * The admin REST API (ADMIN_ROUTES), mounted under the module's path; only SchedulerService's
 * public methods behind it. Guarded and filtered here, never app-wide.
 */
@Controller()
@UseGuards(SchedulerAdminGuard)
@UseFilters(SchedulerAdminExceptionFilter)
export class SchedulerAdminController {
  constructor(
    private readonly scheduler: SchedulerService,
    private readonly locks: RedisLockService,
    private readonly circuits: AdminCircuits,
    @Inject(OPENAPI_DOCUMENT) private readonly openApiDocument: object,
  ) {}

  /**
   * Create only: under a lock per schedule (all pods), so that of concurrent POSTs of one id
   * exactly one creates it and the others get 409.
   */
  @AdminRoute('createSchedule')
  async createSchedule(@Param('tenantId') tenantId: string, @JsonBody() raw: unknown) {
    const input = toScheduleInput(routes.createSchedule.body.parse(raw, ''), { tenantId });
    const { id } = input;
    if (await this.scheduler.get(tenantId, id)) throw new ScheduleExistsError(tenantId, id);
    const lockKey = `admin-create:${createHash('sha256').update(`${tenantId}:${id}`).digest('hex')}`;
    return this.locks.withLock(
      lockKey,
      CREATE_LOCK_TTL_MS,
      async () => {
        if (await this.scheduler.get(tenantId, id)) throw new ScheduleExistsError(tenantId, id);
        return this.scheduler.upsert(input);
      },
      { waitMs: CREATE_LOCK_TTL_MS },
    );
  }

  @AdminRoute('listSchedules')
  listSchedules(@Param('tenantId') tenantId: string, @Query() query: unknown) {
    const { limit, cursor } = parseQuery(routes.listSchedules.query, query);
    return this.scheduler.list(tenantId, { limit, cursor });
  }

  @AdminRoute('describeSchedule')
  async describeSchedule(
    @Param('tenantId') tenantId: string,
    @Param('id') id: string,
    @Query() query: unknown,
  ) {
    const { next = DEFAULT_NEXT_FIRES, last } = parseQuery(routes.describeSchedule.query, query);
    return found(await this.scheduler.describe(tenantId, id, { next, last }), tenantId, id);
  }

  @AdminRoute('replaceSchedule')
  replaceSchedule(
    @Param('tenantId') tenantId: string,
    @Param('id') id: string,
    @JsonBody() raw: unknown,
  ): Promise<Schedule> {
    const input = toScheduleInput(routes.replaceSchedule.body.parse(raw, ''), { tenantId, id });
    return this.scheduler.upsert(input);
  }

  @AdminRoute('removeSchedule')
  async removeSchedule(@Param('tenantId') tenantId: string, @Param('id') id: string) {
    if (!(await this.scheduler.remove(tenantId, id))) throw new ScheduleNotFoundError(tenantId, id);
  }

  @AdminRoute('pauseSchedule')
  async pauseSchedule(@Param('tenantId') tenantId: string, @Param('id') id: string) {
    return found(await this.scheduler.pause(tenantId, id), tenantId, id);
  }

  @AdminRoute('resumeSchedule')
  async resumeSchedule(@Param('tenantId') tenantId: string, @Param('id') id: string) {
    return found(await this.scheduler.resume(tenantId, id), tenantId, id);
  }

  @AdminRoute('triggerSchedule')
  async triggerSchedule(@Param('tenantId') tenantId: string, @Param('id') id: string) {
    return found(await this.scheduler.trigger(tenantId, id), tenantId, id);
  }

  @AdminRoute('listRuns')
  async listRuns(
    @Param('tenantId') tenantId: string,
    @Param('id') id: string,
    @Query() query: unknown,
  ) {
    const { limit = DEFAULT_RUNS_LIMIT } = parseQuery(routes.listRuns.query, query);
    found(await this.scheduler.get(tenantId, id), tenantId, id);
    const runs = await this.scheduler.history(tenantId, id);
    return { items: runs.slice(0, limit) };
  }

  @AdminRoute('pauseTenant')
  async pauseTenant(@Param('tenantId') tenantId: string) {
    return { tenantId, schedules: await this.scheduler.pauseTenant(tenantId) };
  }

  @AdminRoute('resumeTenant')
  async resumeTenant(@Param('tenantId') tenantId: string) {
    return { tenantId, schedules: await this.scheduler.resumeTenant(tenantId) };
  }

  @AdminRoute('tenantCircuits')
  async tenantCircuits(@Param('tenantId') tenantId: string) {
    return { items: await this.circuits.ofTenant(tenantId) };
  }

  @AdminRoute('listTenants')
  listTenants(@Query() query: unknown) {
    const { limit, cursor } = parseQuery(routes.listTenants.query, query);
    return this.scheduler.tenants({ limit, cursor });
  }

  @AdminRoute('listCircuits')
  listCircuits() {
    return { items: this.circuits.all() };
  }

  @AdminRoute('openApi')
  openApi(): object {
    return this.openApiDocument;
  }
}
