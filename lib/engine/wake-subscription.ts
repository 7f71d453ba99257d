import type { RedisConnection } from '../redis/redis-client.provider';
import type { RedisClient } from '../redis/redis-scripts';

/** What the messages of the wake channel ask of the engine. */
export interface WakeHandlers {
  /** A partition's epoch counter moved (a remove, pause or upsert applied): confirm runs again. */
  epochBumped(): void;
  /** Whether the key is one of this pod's registries (a pod joined or left); if so, acts on it. */
  registryChanged(key: string): boolean;
  /** A writer stored due time `dueMs` in due index `dueKey`. */
  due(dueKey: string, dueMs: number): void;
}

export interface WakeListener extends WakeHandlers {
  /** Changes are pushed (true once subscribed) or may be lost (false: the connection closed). */
  pushed(live: boolean): void;
  /** The first subscribe failed while the subscription was open. */
  unavailable(error: Error): void;
}

/**
 * Hands one wake message on: '<key> <number>', the key an epoch counter ('<epoch key> <n>'), a pod
 * registry, or a due index ('<due key> <ms>'). The key is all before the last space.
 */
export function dispatchWakeMessage(
  message: string,
  epochs: ReadonlySet<string>,
  handlers: WakeHandlers,
): void {
  const space = message.lastIndexOf(' ');
  const key = message.slice(0, space);
  if (epochs.has(key)) handlers.epochBumped();
  else if (!handlers.registryChanged(key)) handlers.due(key, Number(message.slice(space + 1)));
}

/**
 * The pod's subscription to the wake channel, on a connection of its own: writers publish there a
 * due time earlier than any before it, epoch bumps and pod registry changes.
 */
export class WakeSubscription {
  private subscriber: RedisClient | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly listener: WakeListener,
  ) {}

  open(): void {
    const { keys } = this.connection;
    const subscriber = this.connection.duplicate();
    this.subscriber = subscriber;
    const epochs = new Set(keys.partitionBases.map((_, p) => keys.epochCounter(p)));
    subscriber.on('message', (_channel: string, message: string) =>
      dispatchWakeMessage(message, epochs, this.listener),
    );
    // Changes are pushed only while subscribed: messages sent while not are lost. On a reconnect
    // ioredis says 'ready' before it subscribes again, so the pod subscribes (again) itself.
    const channel = keys.wakeChannel;
    const listen = () => subscriber.subscribe(channel).then(() => this.listener.pushed(true));
    subscriber.on('close', () => this.listener.pushed(false));
    subscriber.on('ready', () => void listen().catch(() => undefined));
    listen().catch((error: Error) => {
      if (this.subscriber !== subscriber) return; // closed while connecting
      this.listener.unavailable(error);
    });
  }

  /** Quits the subscriber connection (errors ignored: Redis may be down). */
  async close(): Promise<void> {
    if (!this.subscriber) return;
    await this.connection.close(this.subscriber).catch(() => undefined);
    this.subscriber = undefined;
  }
}
