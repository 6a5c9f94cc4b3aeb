/**
 * Events: every change a resource makes is recorded as an Event (`customer.created`,
 * `customer.updated` with `previous_attributes`, ...) and handed to the webhook dispatcher.
 */
import type Stripe from 'stripe';
import { newId } from './ids.ts';
import type { Store, StoredObject } from './store.ts';

/** The API version every object and event of the emulator is shaped for. */
export const API_VERSION = '2026-10-28.endive';

/** Who caused an event: the API request (with its idempotency key), or null for scheduled work. */
export interface EventRequest {
  id: string | null;
  idempotency_key: string | null;
}

/** Counts the webhook endpoints an event of this type goes to and queues the deliveries. */
export interface EventSink {
  enqueue(event: Stripe.Event): void;
  matchingEndpoints(type: string): number;
}

/**
 * The fields that differ between two versions of an object, with their old values, the way Stripe's
 * `previous_attributes` shows them: nested hashes by changed key, keys that were absent as null,
 * everything else (arrays included) as a whole.
 */
export function previousAttributes(before: unknown, after: unknown): Record<string, unknown> | undefined {
  if (!isHash(before) || !isHash(after)) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key];
    const b = after[key];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (isHash(a) && isHash(b)) out[key] = previousAttributes(a, b) ?? a;
    else out[key] = a === undefined ? null : a;
  }
  return Object.keys(out).length ? out : undefined;
}

function isHash(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class EventRecorder {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly sink: EventSink,
  ) {}

  /** Records an event about `object` and queues its webhook deliveries. */
  emit(
    type: string,
    object: StoredObject,
    request: EventRequest,
    previous?: Record<string, unknown>,
  ): Stripe.Event {
    const data: { object: StoredObject; previous_attributes?: Record<string, unknown> } = {
      object: structuredClone(object),
    };
    if (previous) data.previous_attributes = structuredClone(previous);
    const event = {
      id: newId('evt', 24),
      object: 'event',
      api_version: API_VERSION,
      created: this.now(),
      data,
      livemode: false,
      pending_webhooks: this.sink.matchingEndpoints(type),
      request: { id: request.id, idempotency_key: request.idempotency_key },
      type,
    } as unknown as Stripe.Event;
    this.store.collection<Stripe.Event>('event').insert(event);
    this.sink.enqueue(event);
    return event;
  }
}
