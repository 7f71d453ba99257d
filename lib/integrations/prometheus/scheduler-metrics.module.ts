import { DynamicModule, Module } from '@nestjs/common';
import { InvalidOptionsError } from '../../index';
import { SchedulerMetrics } from './scheduler-metrics';
import {
  SCHEDULER_METRICS_OPTIONS,
  type SchedulerMetricsOptions,
} from './scheduler-metrics.options';

/**
 * Registers the scheduler's Prometheus metrics (SchedulerMetrics) in `options.registry` (default:
 * prom-client's global registry). Serving them (`/metrics`) stays the app's: `registry.metrics()`.
 */
@Module({})
export class SchedulerMetricsModule {
  static forRoot(options: SchedulerMetricsOptions = {}): DynamicModule {
    if (options.prefix !== undefined && !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(options.prefix)) {
      throw new InvalidOptionsError(
        'SchedulerMetricsModule prefix',
        `"${options.prefix}" is not a Prometheus metric name prefix; use letters, digits, '_' and ':', not starting with a digit`,
      );
    }
    const tenant = options.tenantLabel;
    const topN = typeof tenant === 'object' ? tenant.topN : undefined;
    if (topN !== undefined && !(Number.isInteger(topN) && topN >= 1 && topN <= 1_000)) {
      throw new InvalidOptionsError(
        'SchedulerMetricsModule tenantLabel.topN',
        `${topN} is not an integer from 1 to 1000; it bounds the tenant label's values`,
      );
    }
    return {
      module: SchedulerMetricsModule,
      providers: [{ provide: SCHEDULER_METRICS_OPTIONS, useValue: options }, SchedulerMetrics],
      exports: [SchedulerMetrics],
    };
  }
}
