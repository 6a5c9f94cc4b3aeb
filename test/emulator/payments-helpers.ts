/** Shared set-up for the payments tests: emulator at a fixed time, a signature-checking receiver. */
import type Stripe from 'stripe';
import { type Harness, Receiver, startHarness } from './helpers.ts';

export const SECRET = 'whsec_payments_test_secret';
/** 2027-01-15 08:00:00 UTC: mid-morning, so "start of the UTC day" arithmetic is visible. */
export const START = 1_800_000_000;
export const DAY = 86_400;

/** Event type prefixes the payments resources emit. */
const PAYMENT_EVENTS = /^(payment_intent|charge|refund|payment_method|balance|payout)\./;

export interface PaymentsHarness extends Harness {
  receiver: Receiver;
  /** Fresh state and a fresh `*` endpoint; call in beforeEach. */
  reset(): Promise<void>;
  /** Payment event types in the order the emulator recorded them (from the events API). */
  recordedTypes(): Promise<string[]>;
  /** Payment event types the receiver got, each signature verified with the SDK. */
  deliveredTypes(): string[];
  /** The received events of one type, verified. */
  delivered(type: string): Stripe.Event[];
}

export async function startPayments(): Promise<PaymentsHarness> {
  const h = await startHarness({ webhookSigningSecret: SECRET, startTime: START });
  const receiver = await new Receiver().start();
  const verified = () =>
    receiver.received.map((r) => h.stripe.webhooks.constructEvent(r.body, r.signature, SECRET));
  return {
    ...h,
    receiver,
    async reset() {
      // Let the previous test's deliveries land before the receiver forgets them.
      await h.emu.drainWebhooks();
      await h.emu.reset();
      receiver.received.length = 0;
      await h.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    },
    async recordedTypes() {
      const types: string[] = [];
      for await (const e of h.stripe.events.list({ limit: 100 })) types.push(e.type);
      return types.reverse().filter((t) => PAYMENT_EVENTS.test(t));
    },
    deliveredTypes() {
      return verified()
        .map((e) => e.type)
        .filter((t) => PAYMENT_EVENTS.test(t));
    },
    delivered(type) {
      return verified().filter((e) => e.type === type);
    },
  };
}

export async function stopPayments(h: PaymentsHarness): Promise<void> {
  await h.receiver.stop();
  await h.emu.close();
}

/** Stripe's card fee in the emulator's fee model: 1.5 % + €0.25. */
export function cardFee(amount: number): number {
  return Math.round(amount * 0.015) + 25;
}
