/**
 * Webhook delivery: each event goes to every enabled endpoint that subscribes to its type, as a JSON
 * POST signed like Stripe does (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`).
 *
 * - Signatures use wall-clock time, not the emulator clock: receivers check the timestamp against
 *   their own clock (the SDK's default tolerance is 300 s), which must keep working after `advance()`.
 * - Anything but a 2xx (3xx included), a timeout or a connection error is retried with real-time
 *   backoff; pending deliveries are persisted, so an endpoint that comes back gets everything, even
 *   across a restart. Deliveries are given up after three days, like Stripe.
 * - Order is not guaranteed (deliveries run in parallel); the chaos switch makes that deliberate
 *   (shuffle) and adds at-least-once duplicates (duplicate).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type Stripe from 'stripe';
import type { EventSink } from './events.ts';
import { newId } from './ids.ts';
import type { Store } from './store.ts';

/** One event on its way to one endpoint. */
export interface Delivery {
  id: string;
  event_id: string;
  endpoint_id: string;
  attempts: number;
  /** Wall-clock ms of the next attempt. */
  next_attempt_at: number;
  /** Wall-clock ms when the delivery was queued; it is given up three days later. */
  queued_at: number;
}

/** The stored form of a webhook endpoint, secret included. */
export interface StoredEndpoint {
  id: string;
  url: string;
  status: string;
  enabled_events: string[];
  secret?: string;
}

export interface WebhookOptions {
  store: Store;
  retryDelaysMs: number[];
  timeoutMs: number;
  log: (level: 'info' | 'warn' | 'error', msg: string) => void;
  onChange: () => void;
}

/** Chaos switches for tests: reorder and double-deliver. */
export interface WebhookChaos {
  shuffle: boolean;
  duplicate: boolean;
}

const GIVE_UP_AFTER_MS = 3 * 24 * 60 * 60 * 1000;
const MAX_PARALLEL = 16;
export const ENDPOINT_COLLECTION = 'webhook_endpoint';

/** Builds the `Stripe-Signature` header for a payload. */
export function signPayload(payload: string, secret: string, timestamp: number): string {
  const sig = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${sig}`;
}

function subscribes(endpoint: StoredEndpoint, type: string): boolean {
  return (
    endpoint.status === 'enabled' &&
    (endpoint.enabled_events.includes('*') || endpoint.enabled_events.includes(type))
  );
}

export class WebhookDispatcher implements EventSink {
  private deliveries: Delivery[] = [];
  private readonly inFlight = new Set<string>();
  private extraInFlight = 0;
  private chaos: WebhookChaos = { shuffle: false, duplicate: false };
  private timer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private readonly aborts = new Set<AbortController>();
  private readonly agents = {
    http: new http.Agent({ keepAlive: false }),
    https: new https.Agent({ keepAlive: false }),
  };

  constructor(private readonly opts: WebhookOptions) {}

  private endpoints(): StoredEndpoint[] {
    return this.opts.store.collection<StoredEndpoint>(ENDPOINT_COLLECTION).list();
  }

  matchingEndpoints(type: string): number {
    return this.endpoints().filter((e) => subscribes(e, type)).length;
  }

  enqueue(event: Stripe.Event): void {
    const now = Date.now();
    for (const endpoint of this.endpoints()) {
      if (!subscribes(endpoint, event.type)) continue;
      this.deliveries.push({
        id: newId('wd'),
        event_id: event.id,
        endpoint_id: endpoint.id,
        attempts: 0,
        next_attempt_at: now,
        queued_at: now,
      });
    }
    this.opts.onChange();
    this.schedulePump();
  }

  setChaos(chaos: Partial<WebhookChaos>): WebhookChaos {
    this.chaos = { ...this.chaos, ...chaos };
    return { ...this.chaos };
  }

  /** Resolves when no attempt is in flight and none is due right now. */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedulePump();
    });
  }

  /** Deliveries still waiting for a successful attempt (for inspection and tests). */
  pending(): Delivery[] {
    return this.deliveries.map((d) => ({ ...d }));
  }

  start(): void {
    this.stopped = false;
    this.schedulePump();
  }

  /** Stops sending; in-flight attempts are aborted and stay pending (they are retried after restart). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const a of this.aborts) a.abort();
    this.agents.http.destroy();
    this.agents.https.destroy();
    this.releaseWaiters(true);
  }

  snapshot(): Delivery[] {
    return this.deliveries;
  }
  restore(deliveries: Delivery[] | undefined): void {
    this.deliveries = deliveries ?? [];
    this.inFlight.clear();
    this.schedulePump();
  }

  private isIdle(): boolean {
    if (this.stopped) return true;
    if (this.inFlight.size > 0 || this.extraInFlight > 0) return false;
    const now = Date.now();
    return !this.deliveries.some((d) => d.next_attempt_at <= now);
  }

  private releaseWaiters(force = false): void {
    if (!force && !this.isIdle()) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    const due = this.deliveries.filter((d) => !this.inFlight.has(d.id) && d.next_attempt_at <= now);
    if (this.chaos.shuffle) shuffle(due);
    for (const d of due) {
      if (this.inFlight.size >= MAX_PARALLEL) break;
      void this.attempt(d);
    }
    this.armTimer();
    this.releaseWaiters();
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    const waiting = this.deliveries.filter((d) => !this.inFlight.has(d.id));
    if (!waiting.length || this.stopped) return;
    const next = Math.min(...waiting.map((d) => d.next_attempt_at));
    const delay = Math.max(0, Math.min(next - Date.now(), 60_000));
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  private async attempt(d: Delivery): Promise<void> {
    this.inFlight.add(d.id);
    try {
      const endpoint = this.opts.store.collection<StoredEndpoint>(ENDPOINT_COLLECTION).get(d.endpoint_id);
      const event = this.opts.store.collection<Stripe.Event>('event').get(d.event_id);
      if (!endpoint || !event || (endpoint as { deleted?: boolean }).deleted) {
        this.finish(d); // the endpoint was deleted or state was reset: nothing left to deliver
        return;
      }
      if (this.chaos.shuffle) await sleep(Math.random() * 30);
      const ok = await this.send(endpoint, event);
      if (this.stopped) return;
      d.attempts += 1;
      if (ok) {
        this.finish(d);
        this.decrementPending(d.event_id);
        if (this.chaos.duplicate) this.sendDuplicate(endpoint, event);
      } else {
        this.reschedule(d, endpoint);
      }
      this.opts.onChange();
    } finally {
      this.inFlight.delete(d.id);
      this.schedulePump();
    }
  }

  private reschedule(d: Delivery, endpoint: StoredEndpoint): void {
    const now = Date.now();
    if (now - d.queued_at > GIVE_UP_AFTER_MS) {
      this.opts.log('warn', `webhook ${d.event_id} to ${endpoint.url} given up after ${d.attempts} attempts`);
      this.finish(d);
      return;
    }
    const delays = this.opts.retryDelaysMs;
    const delay = delays.length ? delays[Math.min(d.attempts - 1, delays.length - 1)]! : 60_000;
    d.next_attempt_at = now + delay;
  }

  private sendDuplicate(endpoint: StoredEndpoint, event: Stripe.Event): void {
    this.extraInFlight += 1;
    void sleep(Math.random() * 30)
      .then(() => this.send(endpoint, event))
      .finally(() => {
        this.extraInFlight -= 1;
        this.releaseWaiters();
      });
  }

  private finish(d: Delivery): void {
    this.deliveries = this.deliveries.filter((x) => x !== d);
  }

  private decrementPending(eventId: string): void {
    const events = this.opts.store.collection<Stripe.Event>('event');
    const event = events.get(eventId);
    if (!event) return;
    event.pending_webhooks = Math.max(0, event.pending_webhooks - 1);
    events.replace(event);
  }

  /** One POST; true on a 2xx. */
  private send(endpoint: StoredEndpoint, event: Stripe.Event): Promise<boolean> {
    const payload = JSON.stringify(event, null, 2);
    const signature = signPayload(payload, endpoint.secret ?? '', Math.floor(Date.now() / 1000));
    let url: URL;
    try {
      url = new URL(endpoint.url);
    } catch {
      return Promise.resolve(false);
    }
    const abort = new AbortController();
    this.aborts.add(abort);
    const isHttps = url.protocol === 'https:';
    return new Promise<boolean>((resolve) => {
      const req = (isHttps ? https : http).request(
        url,
        {
          method: 'POST',
          agent: isHttps ? this.agents.https : this.agents.http,
          signal: abort.signal,
          timeout: this.opts.timeoutMs,
          headers: {
            'Content-Type': 'application/json; charset=utf-8',
            'Content-Length': Buffer.byteLength(payload),
            'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'Cache-Control': 'no-cache',
            Accept: '*/*; q=0.5, application/xml',
            'Stripe-Signature': signature,
          },
        },
        (res) => {
          res.resume();
          const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
          if (!ok) this.opts.log('info', `webhook ${event.id} to ${endpoint.url} answered ${res.statusCode}`);
          res.on('end', () => resolve(ok));
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        if (!this.stopped)
          this.opts.log('info', `webhook ${event.id} to ${endpoint.url} failed: ${err.message}`);
        resolve(false);
      });
      req.end(payload);
    }).finally(() => this.aborts.delete(abort));
  }
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
