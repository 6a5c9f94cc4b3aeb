/**
 * Balance, balance transactions and payouts, plus the fee model (README.md, "Fees"). Every movement of
 * money is a balance transaction; the balance is their sum, so the two can never disagree.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { StoredObject } from '../store.ts';
import { currencyCode, requireLive, saveUpdate } from './shared.ts';

const BT = 'balance_transaction';
const PAYOUT = 'payout';
/** One record per `available_on` second that has a 'balance.available' task queued. */
const AVAILABILITY = 'balance_availability';

const DAY = 86_400;

/** The fixed fee model; see README.md "Fees". */
export const FEES = {
  /** Cards: 1.5 % + €0.25 (Stripe's standard EEA card rate). */
  cardPercent: 1.5,
  cardFixed: 25,
  /** SEPA Direct Debit: €0.35 flat per successful debit. */
  sepaDebit: 35,
  /** Bank transfers (customer balance funding): free. */
  bankTransfer: 0,
  /** Charged with every dispute, card or SEPA. */
  dispute: 2000,
} as const;

/** Days after which funds become available, counted from the start of the UTC day they arrive. */
export const AVAILABILITY_DAYS = 7;
/** A standard payout arrives this many days after creation (start of the UTC day). */
export const PAYOUT_ARRIVAL_DAYS = 2;

/** Stripe's fee for a successful payment of `amount` with this payment method type. */
export function processingFee(kind: 'card' | 'sepa_debit', amount: number): number {
  if (kind === 'sepa_debit') return FEES.sepaDebit;
  return Math.round((amount * FEES.cardPercent) / 100) + FEES.cardFixed;
}

/** Midnight UTC `days` days after the day `now` falls on. */
export function availableAfter(now: number, days: number): number {
  return Math.floor(now / DAY) * DAY + days * DAY;
}

function reportingCategory(type: string): string {
  switch (type) {
    case 'charge':
    case 'payment':
      return 'charge';
    case 'refund':
    case 'payment_refund':
      return 'refund';
    case 'payment_failure_refund':
    case 'refund_failure':
      return 'refund_failure';
    case 'payout':
      return 'payout';
    case 'payout_cancel':
    case 'payout_failure':
      return 'payout_reversal';
    default:
      return 'other_adjustment';
  }
}

export interface BalanceTransactionInput {
  /** Signed minor units: positive adds to the balance. */
  amount: number;
  /** Stripe's fee (positive), deducted from `amount`. */
  fee: number;
  type: string;
  /** The object that caused it (ch_, re_, du_, po_ …). */
  source: string | null;
  description?: string;
  /** When the funds become available (unix seconds); default: now. */
  availableOn?: number;
  currency?: string;
  /** `fee_details[0].description`; default "Stripe processing fees". */
  feeDescription?: string;
  /** Overrides the category derived from `type` (e.g. `dispute` for a dispute adjustment). */
  reportingCategory?: string;
}

/**
 * Records a balance transaction: pending until `availableOn`, when a scheduled task makes it available
 * and emits `balance.available`.
 */
export function recordBalanceTransaction(
  ctx: EmulatorContext,
  input: BalanceTransactionInput,
): Stripe.BalanceTransaction {
  const now = ctx.now();
  const availableOn = input.availableOn ?? now;
  const currency = input.currency ?? 'eur';
  const bt: Stripe.BalanceTransaction = {
    id: ctx.newId('txn', 24),
    object: 'balance_transaction',
    amount: input.amount,
    available_on: availableOn,
    balance_type: 'payments',
    created: now,
    currency,
    description: input.description ?? null,
    exchange_rate: null,
    fee: input.fee,
    fee_details: input.fee
      ? [
          {
            amount: input.fee,
            application: null,
            currency,
            description: input.feeDescription ?? 'Stripe processing fees',
            type: 'stripe_fee',
          },
        ]
      : [],
    net: input.amount - input.fee,
    reporting_category: input.reportingCategory ?? reportingCategory(input.type),
    source: input.source,
    status: availableOn <= now ? 'available' : 'pending',
    type: input.type as Stripe.BalanceTransaction.Type,
  };
  const saved = ctx.store.collection<Stripe.BalanceTransaction>(BT).insert(bt);
  if (bt.status === 'pending') {
    const marks = ctx.store.collection<StoredObject>(AVAILABILITY);
    const markId = `avail_${availableOn}`;
    if (!marks.get(markId)) {
      marks.insert({ id: markId });
      ctx.schedule(availableOn, 'balance.available', { at: availableOn });
    }
  }
  return saved;
}

/** The balance as the sum of all balance transactions, per currency. */
export function computeBalance(ctx: EmulatorContext): Stripe.Balance {
  const available = new Map<string, number>();
  const pending = new Map<string, number>();
  for (const bt of ctx.store.collection<Stripe.BalanceTransaction>(BT).list()) {
    const bucket = bt.status === 'available' ? available : pending;
    bucket.set(bt.currency, (bucket.get(bt.currency) ?? 0) + bt.net);
  }
  if (!available.size && !pending.size) available.set('eur', 0);
  const currencies = [...new Set([...available.keys(), ...pending.keys()])].sort();
  // All funds sit in the `card` source type: Stripe keeps most non-card methods (SEPA included) there.
  const row = (amount: number, currency: string) => ({ amount, currency, source_types: { card: amount } });
  return {
    object: 'balance',
    available: currencies.map((c) => row(available.get(c) ?? 0, c)),
    livemode: false,
    pending: currencies.map((c) => row(pending.get(c) ?? 0, c)),
    refund_and_dispute_prefunding: {
      available: currencies.map((c) => ({ amount: 0, currency: c })),
      pending: currencies.map((c) => ({ amount: 0, currency: c })),
    },
  } satisfies Stripe.Balance;
}

function makeAvailable(ctx: EmulatorContext, at: number): void {
  const txns = ctx.store.collection<Stripe.BalanceTransaction>(BT);
  let changed = false;
  for (const bt of txns.list((t) => t.status === 'pending' && t.available_on <= at)) {
    txns.replace({ ...bt, status: 'available' });
    changed = true;
  }
  ctx.store.collection<StoredObject>(AVAILABILITY).markDeleted(`avail_${at}`, { id: `avail_${at}` });
  if (changed) ctx.emit('balance.available', computeBalance(ctx) as unknown as StoredObject);
}

const BT_TYPES = [
  'adjustment',
  'charge',
  'payment',
  'payment_failure_refund',
  'payment_refund',
  'payout',
  'payout_cancel',
  'payout_failure',
  'refund',
  'refund_failure',
  'stripe_fee',
  'topup',
  'transfer',
] as const;

const btListParams = {
  ...listFields,
  created: p.range(),
  currency: p.string(),
  payout: p.string(),
  source: p.string(),
  type: p.string(),
};

const payoutCreateFields = {
  amount: p.integer({ min: 1 }).required(),
  currency: p.string().required(),
  description: p.string(),
  destination: p.string(),
  metadata: p.metadata(),
  method: p.enum(['instant', 'standard']),
  payout_method: p.string(),
  source_type: p.enum(['bank_account', 'card', 'fpx']),
  statement_descriptor: p.string({ maxLength: 22 }),
};

const payoutListParams = {
  ...listFields,
  arrival_date: p.range(),
  created: p.range(),
  destination: p.string(),
  status: p.enum(['pending', 'paid', 'failed', 'canceled']),
};

/** The emulated account's one bank account. */
const DESTINATION = 'ba_emulator_default';

export const balance: ResourceModule = {
  name: 'balance',
  objects: [
    { prefix: 'txn_', collection: BT },
    { prefix: 'po_', collection: PAYOUT },
  ],
  routes: [
    route({ method: 'GET', path: '/v1/balance', params: {}, handler: (ctx) => computeBalance(ctx) }),
    route({
      method: 'GET',
      path: '/v1/balance_transactions',
      params: btListParams,
      handler(ctx) {
        const { created, currency, payout, source, type } = ctx.params;
        if (type !== undefined && !(BT_TYPES as readonly string[]).includes(type)) {
          throw errors.invalidParam('type', `Invalid type: must be one of ${BT_TYPES.join(', ')}`);
        }
        const items = ctx.store
          .collection<Stripe.BalanceTransaction>(BT)
          .list(
            (bt) =>
              inRange(bt.created, created) &&
              (currency === undefined || bt.currency === currency.toLowerCase()) &&
              (payout === undefined || bt.source === payout) &&
              (source === undefined || bt.source === source) &&
              (type === undefined || bt.type === type),
          );
        return paginate(ctx, BT, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/balance_transactions/:id',
      params: {},
      handler: (ctx) => requireLive(ctx, BT, ctx.path.id!, 'balance transaction'),
    }),
    route({
      method: 'POST',
      path: '/v1/payouts',
      params: payoutCreateFields,
      handler(ctx) {
        const params = ctx.params;
        const currency = currencyCode(params.currency);
        if (params.method === 'instant') {
          throw errors.invalidParam(
            'method',
            'Instant Payouts are not available for this account.',
            'instant_payouts_unsupported',
          );
        }
        if (params.destination !== undefined && params.destination !== DESTINATION) {
          throw errors.resourceMissing('external account', params.destination, 'destination', 400);
        }
        const sourceType = params.source_type ?? 'card';
        const row = computeBalance(ctx).available.find((a) => a.currency === currency);
        const availableInType = sourceType === 'card' ? (row?.amount ?? 0) : 0;
        if (params.amount > availableInType) {
          throw errors.invalidParam(
            undefined,
            `You have insufficient funds in your Stripe account for this transfer. Your ${sourceType} balance is too low. You can use the /v1/balance endpoint to view your Stripe balance (for more details, see stripe.com/docs/api#balance).`,
            'balance_insufficient',
          );
        }
        const now = ctx.now();
        const id = ctx.newId('po', 24);
        const bt = recordBalanceTransaction(ctx, {
          amount: -params.amount,
          fee: 0,
          type: 'payout',
          source: id,
          currency,
          description: params.description ?? 'STRIPE PAYOUT',
        });
        const payout: Stripe.Payout = {
          id,
          object: 'payout',
          amount: params.amount,
          application_fee: null,
          application_fee_amount: null,
          arrival_date: availableAfter(now, PAYOUT_ARRIVAL_DAYS),
          automatic: false,
          balance_transaction: bt.id,
          created: now,
          currency,
          description: params.description ?? null,
          destination: DESTINATION,
          failure_balance_transaction: null,
          failure_code: null,
          failure_message: null,
          livemode: false,
          metadata: applyMetadata({}, params.metadata),
          method: 'standard',
          original_payout: null,
          payout_method: null,
          reconciliation_status: 'not_applicable',
          reversed_by: null,
          source_type: sourceType,
          statement_descriptor: params.statement_descriptor ?? null,
          status: 'pending',
          trace_id: null,
          type: 'bank_account',
        };
        const saved = ctx.store.collection<Stripe.Payout>(PAYOUT).insert(payout);
        ctx.emit('payout.created', saved);
        ctx.schedule(payout.arrival_date, 'payout.arrive', { id });
        return saved;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payouts',
      params: payoutListParams,
      handler(ctx) {
        const { arrival_date, created, destination, status } = ctx.params;
        const items = ctx.store
          .collection<Stripe.Payout>(PAYOUT)
          .list(
            (po) =>
              inRange(po.arrival_date, arrival_date) &&
              inRange(po.created, created) &&
              (destination === undefined || po.destination === destination) &&
              (status === undefined || po.status === status),
          );
        return paginate(ctx, PAYOUT, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payouts/:id',
      params: {},
      handler: (ctx) => requireLive(ctx, PAYOUT, ctx.path.id!, 'payout'),
    }),
    route({
      method: 'POST',
      path: '/v1/payouts/:id',
      params: { metadata: p.metadata() },
      handler(ctx) {
        const before = requireLive<Stripe.Payout>(ctx, PAYOUT, ctx.path.id!, 'payout');
        const after = { ...before, metadata: applyMetadata(before.metadata ?? {}, ctx.params.metadata) };
        return saveUpdate(ctx, PAYOUT, before, after, 'payout.updated');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payouts/:id/cancel',
      params: {},
      handler(ctx) {
        const before = requireLive<Stripe.Payout>(ctx, PAYOUT, ctx.path.id!, 'payout');
        if (before.status !== 'pending') {
          throw errors.invalidParam(
            undefined,
            `Payouts can only be canceled while they are pending; this one is ${before.status}.`,
          );
        }
        const bt = recordBalanceTransaction(ctx, {
          amount: before.amount,
          fee: 0,
          type: 'payout_cancel',
          source: before.id,
          currency: before.currency,
          description: 'Payout cancellation',
        });
        const after: Stripe.Payout = { ...before, status: 'canceled', failure_balance_transaction: bt.id };
        const saved = ctx.store.collection<Stripe.Payout>(PAYOUT).replace(after);
        ctx.emit('payout.canceled', saved, { status: before.status, failure_balance_transaction: null });
        return saved;
      },
    }),
  ],
  tasks: {
    'balance.available'(ctx, payload) {
      makeAvailable(ctx, (payload as { at: number }).at);
    },
    'payout.arrive'(ctx, payload) {
      const payouts = ctx.store.collection<Stripe.Payout>(PAYOUT);
      const before = payouts.get((payload as { id: string }).id);
      if (before?.status !== 'pending') return;
      const saved = payouts.replace({ ...before, status: 'paid' });
      ctx.emit('payout.paid', saved, { status: before.status });
    },
  },
};
