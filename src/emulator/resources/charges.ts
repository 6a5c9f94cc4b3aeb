/**
 * Charges: created only by PaymentIntents (the legacy `POST /v1/charges` with sources is not emulated);
 * retrieve, update, list. A card charge gets its balance transaction a moment after it succeeds, as
 * with Stripe's asynchronous capture since 2024-04-10 (`charge.updated` follows `charge.succeeded`).
 */
import type Stripe from 'stripe';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import { AVAILABILITY_DAYS, availableAfter, processingFee, recordBalanceTransaction } from './balance.ts';
import { requireLive, saveUpdate } from './shared.ts';

export const CHARGE = 'charge';
/** Seconds between a card charge succeeding and its balance transaction appearing. */
export const CARD_FUNDS_DELAY_SECONDS = 2;

/** The mandate id a SEPA PaymentMethod debits under (one per PaymentMethod in the emulator). */
export function mandateIdFor(pmId: string): string {
  return `mandate_${pmId.slice(3, 27)}`;
}

function methodDetails(pm: Stripe.PaymentMethod, amount: number): Stripe.Charge.PaymentMethodDetails {
  if (pm.type === 'sepa_debit' && pm.sepa_debit) {
    const s = pm.sepa_debit;
    return {
      type: 'sepa_debit',
      sepa_debit: {
        bank_code: s.bank_code,
        branch_code: s.branch_code,
        country: s.country,
        fingerprint: s.fingerprint,
        last4: s.last4,
        mandate: mandateIdFor(pm.id),
      },
    };
  }
  const c = pm.card!;
  return {
    type: 'card',
    card: {
      amount_authorized: amount,
      authorization_code: null,
      brand: c.brand,
      checks: c.checks,
      country: c.country,
      electronic_commerce_indicator: null,
      exp_month: c.exp_month,
      exp_year: c.exp_year,
      fingerprint: c.fingerprint ?? null,
      funding: c.funding,
      installments: null,
      last4: c.last4,
      mandate: null,
      network: c.brand,
      network_transaction_id: null,
      regulated_status: c.regulated_status,
      three_d_secure: null,
      transaction_link_id: null,
      wallet: null,
    },
  };
}

export const APPROVED_OUTCOME: Stripe.Charge.Outcome = {
  advice_code: null,
  network_advice_code: null,
  network_decline_code: null,
  network_status: 'approved_by_network',
  reason: null,
  risk_level: 'normal',
  risk_score: 20,
  seller_message: 'Payment complete.',
  type: 'authorized',
};

/** The outcome of a charge the bank declined for `reason`. */
export function declinedOutcome(reason: string): Stripe.Charge.Outcome {
  return {
    advice_code: reason === 'insufficient_funds' ? 'try_again_later' : 'do_not_try_again',
    network_advice_code: null,
    network_decline_code: null,
    network_status: 'declined_by_network',
    reason,
    risk_level: 'normal',
    risk_score: 20,
    seller_message:
      reason === 'generic_decline'
        ? 'The bank did not return any further details with this decline.'
        : `The bank returned the decline code \`${reason}\`.`,
    type: 'issuer_declined',
  };
}

/** A new charge for a PaymentIntent attempt; `status` decides paid/outcome fields. */
export function buildCharge(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  status: 'pending' | 'succeeded' | 'failed',
  failure: { code: string; message: string; reason: string } | null = null,
): Stripe.Charge {
  const succeeded = status === 'succeeded';
  return {
    id: ctx.newId('ch', 24),
    object: 'charge',
    amount: pi.amount,
    amount_captured: succeeded ? pi.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: structuredClone(pm.billing_details),
    calculated_statement_descriptor: pi.statement_descriptor ?? 'MORELO EMULATOR',
    captured: succeeded,
    created: ctx.now(),
    currency: pi.currency,
    customer: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
    description: pi.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: structuredClone(pi.metadata),
    on_behalf_of: null,
    outcome: status === 'pending' ? null : failure ? declinedOutcome(failure.reason) : APPROVED_OUTCOME,
    paid: succeeded,
    payment_intent: pi.id,
    payment_method: pm.id,
    payment_method_details: methodDetails(pm, pi.amount),
    receipt_email: pi.receipt_email,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: pi.shipping,
    source: null,
    source_transfer: null,
    statement_descriptor: pi.statement_descriptor,
    statement_descriptor_suffix: pi.statement_descriptor_suffix,
    status,
    transfer_data: null,
    transfer_group: pi.transfer_group,
  } satisfies Stripe.Charge;
}

/** The balance transaction for a successful charge (fee by payment method type). */
export function chargeFunds(ctx: EmulatorContext, charge: Stripe.Charge): Stripe.BalanceTransaction {
  const kind = charge.payment_method_details?.type === 'sepa_debit' ? 'sepa_debit' : 'card';
  return recordBalanceTransaction(ctx, {
    amount: charge.amount,
    fee: processingFee(kind, charge.amount),
    type: kind === 'card' ? 'charge' : 'payment',
    source: charge.id,
    currency: charge.currency,
    description: charge.description ?? undefined,
    availableOn: availableAfter(ctx.now(), AVAILABILITY_DAYS),
  });
}

/** Stores an updated charge and emits `charge.updated` with what changed. */
export function updateCharge(
  ctx: EmulatorContext,
  before: Stripe.Charge,
  after: Stripe.Charge,
): Stripe.Charge {
  return saveUpdate(ctx, CHARGE, before, after, 'charge.updated');
}

const listParams = {
  ...listFields,
  created: p.range(),
  customer: p.string(),
  payment_intent: p.string(),
  transfer_group: p.string(),
};

const updateFields = {
  customer: p.string(),
  description: p.string().emptyable(),
  fraud_details: p.object({ user_report: p.enum(['fraudulent', 'safe']).emptyable() }),
  metadata: p.metadata(),
  receipt_email: p.string().emptyable(),
  transfer_group: p.string(),
};

export const charges: ResourceModule = {
  name: 'charges',
  objects: [{ prefix: 'ch_', collection: CHARGE }],
  routes: [
    route({
      method: 'GET',
      path: '/v1/charges',
      params: listParams,
      handler(ctx) {
        const { created, customer, payment_intent, transfer_group } = ctx.params;
        const items = ctx.store
          .collection<Stripe.Charge>(CHARGE)
          .list(
            (c) =>
              inRange(c.created, created) &&
              (customer === undefined || c.customer === customer) &&
              (payment_intent === undefined || c.payment_intent === payment_intent) &&
              (transfer_group === undefined || c.transfer_group === transfer_group),
          );
        return paginate(ctx, CHARGE, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/charges/:id',
      params: {},
      handler: (ctx) => requireLive(ctx, CHARGE, ctx.path.id!, 'charge'),
    }),
    route({
      method: 'POST',
      path: '/v1/charges/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.Charge>(ctx, CHARGE, ctx.path.id!, 'charge');
        const after: Stripe.Charge = structuredClone(before);
        const params = ctx.params;
        if (params.customer !== undefined) {
          requireLive(ctx, 'customer', params.customer, 'customer', 'customer', 400);
          after.customer = params.customer;
        }
        if (params.description !== undefined) after.description = params.description;
        if (params.fraud_details?.user_report !== undefined) {
          after.fraud_details = params.fraud_details.user_report
            ? { user_report: params.fraud_details.user_report }
            : {};
        }
        after.metadata = applyMetadata(after.metadata, params.metadata);
        if (params.receipt_email !== undefined) after.receipt_email = params.receipt_email;
        if (params.transfer_group !== undefined) after.transfer_group = params.transfer_group;
        return updateCharge(ctx, before, after);
      },
    }),
  ],
  tasks: {
    'charge.card_funds'(ctx, payload) {
      const charges = ctx.store.collection<Stripe.Charge>(CHARGE);
      const before = charges.get((payload as { id: string }).id);
      if (before?.status !== 'succeeded' || before.balance_transaction) return;
      const bt = chargeFunds(ctx, before);
      updateCharge(ctx, before, { ...before, balance_transaction: bt.id });
    },
  },
};
