import {
  Controller,
  Header,
  Inject,
  NotFoundException,
  Param,
  Req,
  StreamableFile,
  UseFilters,
} from '@nestjs/common';
import { AdminRoute } from '../admin-route.decorator';
import { SchedulerAdminExceptionFilter } from '../scheduler-admin.filter';
import { SCHEDULER_ADMIN_MODULE_OPTIONS } from '../scheduler-admin.module-definition';
import type { SchedulerAdminOptions } from '../scheduler-admin.options';
import { DashboardAssets } from './dashboard-assets';

/**
 * The page loads nothing from outside the service: scripts, styles, images and API calls come
 * from its own origin; no inline script or style; it cannot be framed and its form never submits.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'; object-src 'none'";

/** What the page handler reads of the request, on Express and on Fastify alike. */
interface RequestLine {
  originalUrl?: string;
  url?: string;
}

/**
 * Serves the dashboard: the page at `/{path}/` and its files at `/{path}/assets/<name>` (404 with
 * `dashboard: false`). Loading them needs no key (they hold no data); the page's API calls do.
 * On Fastify `/{path}/` needs the app's `ignoreTrailingSlash`; `/{path}` works everywhere (the
 * page's <base> is the path with a trailing slash either way).
 */
@Controller()
@UseFilters(SchedulerAdminExceptionFilter)
export class SchedulerDashboardController {
  private readonly assets: DashboardAssets | null;

  constructor(@Inject(SCHEDULER_ADMIN_MODULE_OPTIONS) options: SchedulerAdminOptions) {
    this.assets = options.dashboard === false ? null : new DashboardAssets();
  }

  @AdminRoute('dashboardPage')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  page(@Req() request: RequestLine): string {
    return this.served().page(request.originalUrl ?? request.url ?? '/');
  }

  @AdminRoute('dashboardAsset')
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  asset(@Param('name') name: string): StreamableFile {
    const asset = this.served().asset(name);
    if (!asset) throw new NotFoundException('The dashboard has no such file.');
    return new StreamableFile(asset.body, { type: asset.contentType, length: asset.body.length });
  }

  private served(): DashboardAssets {
    if (!this.assets) throw new NotFoundException('The dashboard is off (dashboard: false).');
    return this.assets;
  }
}
