import {
  Controller,
  Get,
  Header,
  NotFoundException,
  Param,
  Req,
  StreamableFile,
} from '@nestjs/common';
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
 * Serves the dashboard: the page at `/{path}/` and its files at `/{path}/assets/<name>`. Loading
 * them needs no key (they hold no data); the page's API calls do.
 */
@Controller()
export class SchedulerDashboardController {
  private readonly assets = new DashboardAssets();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CSP)
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  page(@Req() request: RequestLine): string {
    return this.assets.page(request.originalUrl ?? request.url ?? '/');
  }

  @Get('assets/:name')
  @Header('Cache-Control', 'no-cache')
  @Header('X-Content-Type-Options', 'nosniff')
  asset(@Param('name') name: string): StreamableFile {
    const asset = this.assets.asset(name);
    if (!asset) throw new NotFoundException('The dashboard has no such file.');
    return new StreamableFile(asset.body, { type: asset.contentType, length: asset.body.length });
  }
}
