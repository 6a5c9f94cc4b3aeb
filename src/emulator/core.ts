/**
 * The emulator's state and the machinery around it — store, clock, scheduler, idempotency keys,
 * events and webhook deliveries — without any HTTP. The server (server.ts) and the public API
 * (index.ts) drive it.
 */

import { EmulatorClock } from './clock.ts';
import { EventRecorder, type EventRequest } from './events.ts';
import type { IdempotentResult } from './idempotency.ts';
import { IdempotencyStore } from './idempotency.ts';
import { newId } from './ids.ts';
import type { EmulatorContext, Method, ObjectType, ResourceModule, Route, TaskHandler } from './resource.ts';
import { Scheduler, type Task } from './scheduler.ts';
import { Store, type StoredObject, type StoreSnapshot } from './store.ts';
import { type Delivery, WebhookDispatcher } from './webhooks.ts';

type Log = (level: 'info' | 'warn' | 'error', msg: string) => void;

export interface CoreOptions {
  startTime: number | undefined;
  webhookSigningSecret: string | undefined;
  webhookRetryDelaysMs: number[];
  webhookTimeoutMs: number;
  log: Log;
  /** Called after every state change (persistence marks itself dirty). */
  onChange: () => void;
}

/** The persisted state, version 1. */
export interface PersistedState {
  version: 1;
  clockOffsetMs: number;
  store: StoreSnapshot;
  scheduler: { seq: number; tasks: Task[] };
  idempotency: Record<string, IdempotentResult>;
  deliveries: Delivery[];
}

/** A route with its path compiled to a matcher. */
export interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compilePath(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), names };
}

export class EmulatorCore {
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly idempotency: IdempotencyStore;
  readonly webhooks: WebhookDispatcher;
  readonly events: EventRecorder;
  clock: EmulatorClock;
  readonly webhookSigningSecret: string | undefined;
  /** Where the server listens; set once it does (URLs handed out by resources use it). */
  baseUrl = 'http://127.0.0.1';
  private readonly routes: CompiledRoute[] = [];
  private readonly objectTypes: ObjectType[] = [];
  private readonly taskHandlers = new Map<string, TaskHandler>();
  private serial: Promise<unknown> = Promise.resolve();
  private taskTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly opts: CoreOptions,
    resources: ResourceModule[],
  ) {
    const changed = () => this.changed();
    this.store = new Store(changed);
    this.scheduler = new Scheduler(changed);
    this.idempotency = new IdempotencyStore(changed);
    this.clock = EmulatorClock.startingAt(opts.startTime);
    this.webhookSigningSecret = opts.webhookSigningSecret;
    this.webhooks = new WebhookDispatcher({
      store: this.store,
      retryDelaysMs: opts.webhookRetryDelaysMs,
      timeoutMs: opts.webhookTimeoutMs,
      log: opts.log,
      onChange: changed,
    });
    this.events = new EventRecorder(this.store, () => this.clock.now(), this.webhooks);
    for (const r of resources) this.register(r);
  }

  private register(resource: ResourceModule): void {
    for (const route of resource.routes) {
      const key = `${route.method} ${route.path}`;
      if (this.routes.some((c) => `${c.route.method} ${c.route.path}` === key)) {
        throw new Error(`Stripe emulator: route ${key} is registered twice (resource ${resource.name})`);
      }
      this.routes.push({ route, ...compilePath(route.path) });
    }
    for (const type of resource.objects ?? []) this.objectTypes.push(type);
    for (const [kind, handler] of Object.entries(resource.tasks ?? {})) {
      if (this.taskHandlers.has(kind))
        throw new Error(`Stripe emulator: task kind ${kind} is registered twice`);
      this.taskHandlers.set(kind, handler);
    }
  }

  private changed(): void {
    this.opts.onChange();
  }

  /**
   * Finds the route for a request. Literal paths win over parameterised ones
   * (`/v1/customers/search` before `/v1/customers/:id`).
   */
  match(method: string, path: string): { route: Route; path: Record<string, string> } | undefined {
    let best: { route: Route; path: Record<string, string>; params: number } | undefined;
    for (const c of this.routes) {
      if (c.route.method !== method) continue;
      const m = c.pattern.exec(path);
      if (!m) continue;
      if (best && best.params <= c.names.length) continue;
      const values: Record<string, string> = {};
      c.names.forEach((n, i) => {
        values[n] = decodeURIComponent(m[i + 1]!);
      });
      best = { route: c.route, path: values, params: c.names.length };
    }
    return best;
  }

  /** Resolves an id for `expand` by its prefix. */
  lookup = (id: string): { known: boolean; object?: unknown } => {
    const type = this.objectTypes.find((t) => id.startsWith(t.prefix));
    if (!type) return { known: false };
    const obj = this.store.get(type.collection, id);
    if (!obj) return { known: true };
    return {
      known: true,
      object: type.render && !(obj as { deleted?: boolean }).deleted ? type.render(obj) : obj,
    };
  };

  /** The context handed to handlers and tasks; events carry `request`. */
  context(request: EventRequest): EmulatorContext {
    return {
      now: () => this.clock.now(),
      store: this.store,
      newId,
      emit: (type: string, object: StoredObject, previous?: Record<string, unknown>) =>
        this.events.emit(type, object, request, previous),
      schedule: (at: number, kind: string, payload: unknown) => {
        if (!this.taskHandlers.has(kind))
          throw new Error(`Stripe emulator: no handler for task kind ${kind}`);
        const id = this.scheduler.schedule(at, kind, payload);
        this.armTaskTimer();
        return id;
      },
      cancelTask: (id: string) => this.scheduler.cancel(id),
      log: this.opts.log,
      baseUrl: () => this.baseUrl,
      advanceClockTo: (at: number) => this.advance(Math.max(0, at - this.clock.now())),
    };
  }

  /** Runs `fn` after everything queued before it (advances and timer-driven task runs). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => {});
    return run;
  }

  /** Moves the clock forward, running due tasks in time order; then waits for first delivery attempts. */
  async advance(seconds: number): Promise<void> {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError(
        `Stripe emulator: advance() needs a non-negative number of seconds, got ${seconds}`,
      );
    }
    await this.exclusive(async () => {
      await this.runDueTasks(this.clock.now() + seconds);
    });
    await this.webhooks.drain();
  }

  private async runDueTasks(upTo: number): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const task = this.scheduler.takeNextDue(upTo);
      if (!task) break;
      this.clock.moveTo(task.at);
      const handler = this.taskHandlers.get(task.kind);
      if (!handler) {
        this.opts.log('error', `Stripe emulator: dropped task ${task.id}: no handler for kind ${task.kind}`);
        continue;
      }
      try {
        await handler(this.context({ id: null, idempotency_key: null }), task.payload);
      } catch (err) {
        this.opts.log(
          'error',
          `Stripe emulator: task ${task.kind} (${task.id}) failed: ${(err as Error).stack ?? err}`,
        );
      }
    }
    this.clock.moveTo(upTo);
    this.armTaskTimer();
  }

  /** Runs tasks that fall due as real time passes, without an advance(). */
  private armTaskTimer(): void {
    clearTimeout(this.taskTimer);
    const next = this.scheduler.peek();
    if (!next || this.stopped) return;
    const delay = Math.max(0, Math.min((next.at - this.clock.now()) * 1000, 60_000));
    this.taskTimer = setTimeout(() => {
      void this.exclusive(() => this.runDueTasks(this.clock.now()));
    }, delay);
    this.taskTimer.unref();
  }

  start(): void {
    this.stopped = false;
    this.webhooks.start();
    this.armTaskTimer();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.taskTimer);
    this.webhooks.stop();
  }

  snapshot(): PersistedState {
    return {
      version: 1,
      clockOffsetMs: this.clock.offset,
      store: this.store.snapshot(),
      scheduler: this.scheduler.snapshot(),
      idempotency: this.idempotency.snapshot(),
      deliveries: this.webhooks.snapshot(),
    };
  }

  /** Loads persisted state (undefined → empty state with the clock at the configured start). */
  restore(state: PersistedState | undefined): void {
    this.store.restore(state?.store);
    this.scheduler.restore(state?.scheduler);
    this.idempotency.restore(state?.idempotency);
    this.webhooks.restore(state?.deliveries);
    this.clock = state
      ? new EmulatorClock(state.clockOffsetMs)
      : EmulatorClock.startingAt(this.opts.startTime);
    this.armTaskTimer();
  }

  /** Clears everything: objects, events, keys, tasks, deliveries; the clock goes back to its start. */
  async reset(): Promise<void> {
    await this.exclusive(async () => this.restore(undefined));
  }

  /** Methods allowed on a path (for diagnostics). */
  methodsFor(path: string): Method[] {
    return this.routes.filter((c) => c.pattern.test(path)).map((c) => c.route.method);
  }
}
