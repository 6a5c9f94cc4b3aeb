/**
 * Refunds of succeeded charges, partial or full. The refunded amount leaves the balance at once (a
 * negative balance transaction; Stripe keeps its processing fee). Card refunds succeed immediately;
 * SEPA refunds stay `pending` for SEPA_REFUND_SECONDS, then succeed (`refund.updated`,
 * `charge.refund.updated`).
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import { recordBalanceTransaction } from './balance.ts';
import { CHARGE } from './charges.ts';
import { PAYMENT_INTENT } from './payments-internal.ts';
import { requireLive, saveUpdate } from './shared.ts';

const REFUND = 'refund';
/** Emulator seconds until a SEPA refund reaches the customer's bank. */
export const SEPA_REFUND_SECONDS = 60;

const createFields = {
  amount: p.integer({ min: 1 }),
  charge: p.string(),
  currency: p.string(),
  instructions_email: p.string(),
  metadata: p.metadata(),
  origin: p.enum(['customer_balance']),
  payment_intent: p.string(),
  reason: p.enum(['duplicate', 'fraudulent', 'requested_by_customer']),
  refund_application_fee: p.boolean(),
  reverse_transfer: p.boolean(),
};

const listParams = { ...listFields, charge: p.string(), created: p.range(), payment_intent: p.string() };

function formatEuro(amount: number, currency: string): string {
  const symbol = currency === 'eur' ? '€' : '';
  return `${symbol}${(amount / 100).toFixed(2)}`;
}

function chargeToRefund(
  ctx: EmulatorContext,
  params: { charge?: string; payment_intent?: string },
): Stripe.Charge {
  if (params.charge !== undefined && params.payment_intent !== undefined) {
    throw errors.parametersExclusive(['charge', 'payment_intent']);
  }
  if (params.charge !== undefined)
    return requireLive<Stripe.Charge>(ctx, CHARGE, params.charge, 'charge', 'charge', 400);
  if (params.payment_intent === undefined) {
    throw errors.invalidParam(
      undefined,
      'One of the following params should be provided for this request: payment_intent or charge.',
      'parameter_missing',
    );
  }
  const pi = requireLive<Stripe.PaymentIntent>(
    ctx,
    PAYMENT_INTENT,
    params.payment_intent,
    'payment_intent',
    'payment_intent',
    400,
  );
  if (pi.status !== 'succeeded' || !pi.latest_charge) {
    throw errors.invalidParam(
      'payment_intent',
      `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
      'charge_not_refundable',
    );
  }
  return ctx.store.collection<Stripe.Charge>(CHARGE).get(pi.latest_charge as string)!;
}

/** Refunds `amount` (default: what is left) of a succeeded charge. */
export function createRefund(
  ctx: EmulatorContext,
  charge: Stripe.Charge,
  input: { amount?: number; reason?: Stripe.Refund.Reason | null; metadata?: Record<string, string> },
): Stripe.Refund {
  if (charge.status !== 'succeeded') {
    throw errors.invalidParam(
      'charge',
      charge.status === 'pending'
        ? `This charge (${charge.id}) is still pending and cannot be refunded until it succeeds.`
        : `This charge (${charge.id}) did not succeed and cannot be refunded.`,
      'charge_not_refundable',
    );
  }
  if (charge.disputed) {
    throw errors.invalidParam(
      'charge',
      `Charge ${charge.id} has been charged back; cannot issue a refund.`,
      'charge_disputed',
    );
  }
  const remaining = charge.amount - charge.amount_refunded;
  if (remaining <= 0) {
    throw errors.invalidParam(
      'charge',
      `Charge ${charge.id} has already been refunded.`,
      'charge_already_refunded',
    );
  }
  const amount = input.amount ?? remaining;
  if (amount > remaining) {
    throw errors.invalidParam(
      'amount',
      `Refund amount (${formatEuro(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatEuro(remaining, charge.currency)})`,
      'amount_too_large',
    );
  }
  const isSepa = charge.payment_method_details?.type === 'sepa_debit';
  const id = ctx.newId('re', 24);
  const bt = recordBalanceTransaction(ctx, {
    amount: -amount,
    fee: 0,
    type: isSepa ? 'payment_refund' : 'refund',
    source: id,
    currency: charge.currency,
    description: 'REFUND FOR CHARGE',
  });
  const refund: Stripe.Refund = {
    id,
    object: 'refund',
    amount,
    balance_transaction: bt.id,
    charge: charge.id,
    created: ctx.now(),
    currency: charge.currency,
    customer: charge.customer,
    customer_account: null,
    destination_details: isSepa
      ? { type: 'sepa_debit', sepa_debit: {} }
      : {
          type: 'card',
          card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' },
        },
    metadata: input.metadata ?? {},
    payment_intent: charge.payment_intent,
    payment_method: charge.payment_method,
    reason: input.reason ?? null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: isSepa ? 'pending' : 'succeeded',
    transfer_reversal: null,
  } as Stripe.Refund;
  const saved = ctx.store.collection<Stripe.Refund>(REFUND).insert(refund);
  const refundedCharge: Stripe.Charge = {
    ...charge,
    amount_refunded: charge.amount_refunded + amount,
    refunded: charge.amount_refunded + amount === charge.amount,
  };
  const savedCharge = ctx.store.collection<Stripe.Charge>(CHARGE).replace(refundedCharge);
  ctx.emit('refund.created', saved);
  ctx.emit('charge.refunded', savedCharge, {
    amount_refunded: charge.amount_refunded,
    ...(refundedCharge.refunded !== charge.refunded ? { refunded: charge.refunded } : {}),
  });
  if (isSepa) ctx.schedule(ctx.now() + SEPA_REFUND_SECONDS, 'refund.sepa_complete', { id });
  return saved;
}

export const refunds: ResourceModule = {
  name: 'refunds',
  objects: [{ prefix: 're_', collection: REFUND }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/refunds',
      params: createFields,
      handler(ctx) {
        const params = ctx.params;
        for (const unsupported of ['origin', 'refund_application_fee', 'reverse_transfer'] as const) {
          if (params[unsupported] !== undefined) {
            throw errors.invalidParam(
              unsupported,
              `${unsupported} is not supported by the emulator's single account.`,
            );
          }
        }
        const charge = chargeToRefund(ctx, params);
        if (params.currency !== undefined && params.currency.toLowerCase() !== charge.currency) {
          throw errors.invalidParam(
            'currency',
            `The refund currency must match the charge currency (${charge.currency}).`,
          );
        }
        return createRefund(ctx, charge, {
          ...(params.amount !== undefined ? { amount: params.amount } : {}),
          reason: params.reason ?? null,
          metadata: applyMetadata({}, params.metadata),
        });
      },
    }),
    route({
      method: 'GET',
      path: '/v1/refunds',
      params: listParams,
      handler(ctx) {
        const { charge, created, payment_intent } = ctx.params;
        const items = ctx.store
          .collection<Stripe.Refund>(REFUND)
          .list(
            (r) =>
              inRange(r.created, created) &&
              (charge === undefined || r.charge === charge) &&
              (payment_intent === undefined || r.payment_intent === payment_intent),
          );
        return paginate(ctx, REFUND, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/refunds/:id',
      params: {},
      handler: (ctx) => requireLive(ctx, REFUND, ctx.path.id!, 'refund'),
    }),
    route({
      method: 'POST',
      path: '/v1/refunds/:id',
      params: { metadata: p.metadata() },
      handler(ctx) {
        const before = requireLive<Stripe.Refund>(ctx, REFUND, ctx.path.id!, 'refund');
        const after = { ...before, metadata: applyMetadata(before.metadata ?? {}, ctx.params.metadata) };
        return saveUpdate(ctx, REFUND, before, after, 'refund.updated');
      },
    }),
  ],
  tasks: {
    'refund.sepa_complete'(ctx, payload) {
      const refunds = ctx.store.collection<Stripe.Refund>(REFUND);
      const before = refunds.get((payload as { id: string }).id);
      if (before?.status !== 'pending') return;
      const saved = refunds.replace({ ...before, status: 'succeeded' });
      ctx.emit('refund.updated', saved, { status: before.status });
      ctx.emit('charge.refund.updated', saved, { status: before.status });
    },
  },
};
