import { SchedulerError } from '../../../index';

/** The dashboard's files are not beside its code: the package was built without its assets. */
export class DashboardAssetsMissingError extends SchedulerError {
  constructor(readonly dir: string) {
    super(
      'DASHBOARD_ASSETS_MISSING',
      `The scheduler dashboard has no index.html in ${dir}: the package was built without its ` +
        'assets (nest-cli.json "assets" copies lib/integrations/admin/dashboard/assets to dist/). ' +
        'Rebuild it, or set `dashboard: false`.',
    );
  }
}
