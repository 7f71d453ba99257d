import {
  applyDecorators,
  HttpCode,
  RequestMapping,
  RequestMethod,
  SetMetadata,
} from '@nestjs/common';
import { ADMIN_ROUTES, type AdminOperation } from './admin-routes';
import { ADMIN_ROUTE_METADATA } from './scheduler-admin.constants';

/** Mounts the method as `operation` of the route table: its method, path and success status. */
export function AdminRoute(operation: AdminOperation): MethodDecorator {
  const route = ADMIN_ROUTES[operation];
  return applyDecorators(
    RequestMapping({ path: route.path, method: RequestMethod[route.method] }),
    HttpCode(route.status),
    SetMetadata(ADMIN_ROUTE_METADATA, operation),
  );
}
