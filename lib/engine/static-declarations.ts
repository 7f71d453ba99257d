import { Logger } from '@nestjs/common';
import type { KeySpace } from '../redis/key-space';
import type { RedisScripts } from '../redis/redis-scripts';
import { timerDelay } from '../time/timer-delay';
import { withTimeLimit } from '../time/time-limit';
import { DeclarationVerdict, judgeDeclaration, StaticDeclaration } from './static-declaration';

/** What the declarations ask of Redis (a unit test passes a plain function). */
export type DeclarePort = Pick<RedisScripts, 'declareStatics'>;

/** A declaration not renewed for this long is out: its pod is gone. */
const DECLARATION_TTL_MS = 15_000;
const RENEW_MS = 5_000;

/**
 * This pod's declarations of its static schedules in Redis (where each comes from, with which
 * timing), so that a pod of another service that declares the same name on the same keyPrefix
 * is seen at its boot. Renewed every 5 s while the pod runs, removed at shutdown, and aged out
 * 15 s after a crash. A refused declaration (another source is live) leaves nothing behind.
 */
export class StaticDeclarations {
  private readonly logger = new Logger('RedisScheduler');
  private declared: { key: string; source: string; timing: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly podId: string,
    private readonly keys: Pick<KeySpace, 'staticDeclarations'>,
    private readonly scripts: DeclarePort,
  ) {}

  /** Declares `statics` and keeps them declared unless one is refused: one verdict each. */
  async declare(statics: readonly StaticDeclaration[]): Promise<DeclarationVerdict[]> {
    this.stopRenewing();
    const calls = statics.map((s) => ({
      key: this.keys.staticDeclarations(s.name),
      source: s.source,
      timing: s.timing,
    }));
    this.declared = calls;
    if (calls.length === 0) return [];
    const replies = await this.scripts.declareStatics(calls, this.podId, DECLARATION_TTL_MS);
    const verdicts = replies.map((reply, i) => judgeDeclaration(statics[i], reply));
    if (verdicts.some((v) => v.kind === 'other-source')) {
      await this.leave();
    } else {
      this.timer = setInterval(() => void this.renew(), timerDelay(RENEW_MS));
      this.timer.unref();
    }
    return verdicts;
  }

  /** Removes this pod's declarations (bounded: Redis may be down). */
  async stop(): Promise<void> {
    this.stopRenewing();
    await this.leave();
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async leave(): Promise<void> {
    const declared = this.declared;
    this.declared = [];
    if (declared.length === 0) return;
    await withTimeLimit(this.scripts.declareStatics(declared, this.podId, 0), 1_000);
  }

  private async renew(): Promise<void> {
    try {
      await this.scripts.declareStatics(this.declared, this.podId, DECLARATION_TTL_MS);
    } catch (error) {
      // Redis is unreachable: the connection says so; the next renewal comes in 5 s.
      this.logger.debug(`Static declarations not renewed: ${(error as Error).message}`);
    }
  }
}
