import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ADMIN_PUBLIC_ROUTE } from './admin-auth.constants';

/**
 * Marks an admin route (or controller) that needs no key: the dashboard page and its assets, the
 * OpenAPI document. SchedulerAdminGuard still rate-limits it, per client address.
 */
export const AdminPublicRoute = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(ADMIN_PUBLIC_ROUTE, true));
