/**
 * Disputes. SEPA Direct Debit chargebacks cannot be contested: the dispute is created `lost`, the
 * amount and the dispute fee are withdrawn at once (`charge.dispute.created`,
 * `charge.dispute.funds_withdrawn`). Evidence submission is not emulated.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import { FEES, recordBalanceTransaction } from './balance.ts';
import { CHARGE } from './charges.ts';
import { requireLive, saveUpdate } from './shared.ts';

const DISPUTE = 'dispute';

function emptyEvidence(): Stripe.Dispute.Evidence {
  return {
    access_activity_log: null,
    billing_address: null,
    cancellation_policy: null,
    cancellation_policy_disclosure: null,
    cancellation_rebuttal: null,
    customer_communication: null,
    customer_email_address: null,
    customer_name: null,
    customer_purchase_ip: null,
    customer_signature: null,
    duplicate_charge_documentation: null,
    duplicate_charge_explanation: null,
    duplicate_charge_id: null,
    enhanced_evidence: {},
    product_description: null,
    receipt: null,
    refund_policy: null,
    refund_policy_disclosure: null,
    refund_refusal_explanation: null,
    service_date: null,
    service_documentation: null,
    shipping_address: null,
    shipping_carrier: null,
    shipping_date: null,
    shipping_documentation: null,
    shipping_tracking_number: null,
    uncategorized_file: null,
    uncategorized_text: null,
  };
}

/**
 * Opens a chargeback on a succeeded SEPA charge: withdraws amount + fee (one balance transaction of type
 * `adjustment`, reporting category `dispute`), marks the charge disputed, emits the dispute events.
 */
export function createSepaDispute(ctx: EmulatorContext, charge: Stripe.Charge): Stripe.Dispute {
  const id = ctx.newId('du', 24);
  const bt = recordBalanceTransaction(ctx, {
    amount: -charge.amount,
    fee: FEES.dispute,
    type: 'adjustment',
    source: id,
    currency: charge.currency,
    description: `Chargeback withdrawal for ${charge.id}`,
    feeDescription: 'Dispute fee',
    reportingCategory: 'dispute',
  });
  const sepa = charge.payment_method_details?.sepa_debit;
  const dispute: Stripe.Dispute = {
    id,
    object: 'dispute',
    amount: charge.amount,
    balance_transactions: [bt],
    charge: charge.id,
    created: ctx.now(),
    currency: charge.currency,
    enhanced_eligibility_types: [],
    evidence: emptyEvidence(),
    evidence_details: {
      due_by: null,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: null as unknown as Stripe.Dispute.EvidenceDetails.SubmissionMethod,
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    network_reason_code: null,
    payment_intent: typeof charge.payment_intent === 'string' ? charge.payment_intent : null,
    payment_method_details: {
      type: 'sepa_debit',
      ...(sepa ? { sepa_debit: {} } : {}),
    } as Stripe.Dispute.PaymentMethodDetails,
    reason: 'general',
    status: 'lost',
  };
  const saved = ctx.store.collection<Stripe.Dispute>(DISPUTE).insert(dispute);
  const charges = ctx.store.collection<Stripe.Charge>(CHARGE);
  charges.replace({ ...charges.get(charge.id)!, disputed: true });
  ctx.emit('charge.dispute.created', saved);
  ctx.emit('charge.dispute.funds_withdrawn', saved);
  return saved;
}

const listParams = {
  ...listFields,
  charge: p.string(),
  created: p.range(),
  payment_intent: p.string(),
};

const updateFields = {
  evidence: p.hash(p.string()),
  metadata: p.metadata(),
  submit: p.boolean(),
};

export const disputes: ResourceModule = {
  name: 'disputes',
  objects: [{ prefix: 'du_', collection: DISPUTE }],
  routes: [
    route({
      method: 'GET',
      path: '/v1/disputes',
      params: listParams,
      handler(ctx) {
        const { charge, created, payment_intent } = ctx.params;
        const items = ctx.store
          .collection<Stripe.Dispute>(DISPUTE)
          .list(
            (d) =>
              inRange(d.created, created) &&
              (charge === undefined || d.charge === charge) &&
              (payment_intent === undefined || d.payment_intent === payment_intent),
          );
        return paginate(ctx, DISPUTE, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/disputes/:id',
      params: {},
      handler: (ctx) => requireLive(ctx, DISPUTE, ctx.path.id!, 'dispute'),
    }),
    route({
      method: 'POST',
      path: '/v1/disputes/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.Dispute>(ctx, DISPUTE, ctx.path.id!, 'dispute');
        if (ctx.params.evidence !== undefined || ctx.params.submit !== undefined) {
          if (before.status === 'lost' || before.status === 'won') {
            throw errors.invalidParam(
              undefined,
              `This dispute is already closed (status ${before.status}); evidence can no longer be submitted.`,
            );
          }
        }
        const after = { ...before, metadata: applyMetadata(before.metadata, ctx.params.metadata) };
        return saveUpdate(ctx, DISPUTE, before, after, 'charge.dispute.updated');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/disputes/:id/close',
      params: {},
      handler(ctx) {
        const before = requireLive<Stripe.Dispute>(ctx, DISPUTE, ctx.path.id!, 'dispute');
        if (before.status === 'lost' || before.status === 'won') {
          throw errors.invalidParam(undefined, `This dispute is already closed (status ${before.status}).`);
        }
        const saved = ctx.store.collection<Stripe.Dispute>(DISPUTE).replace({ ...before, status: 'lost' });
        ctx.emit('charge.dispute.closed', saved, { status: before.status });
        return saved;
      },
    }),
  ],
};
