/**
 * PaymentIntents over HTTP: create, retrieve, update, list, confirm, cancel. The lifecycle itself lives
 * in payments-internal.ts so that invoices and checkout sessions drive the very same code.
 * Only automatic capture is emulated (`capture_method: manual` is a 400).
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type ResourceModule, route } from '../resource.ts';
import {
  confirmPaymentIntent,
  confirmStored,
  createPaymentIntent,
  PAYMENT_INTENT,
  paymentMethodTypesFor,
  resolvePaymentMethod,
  SEPA_SETTLE_TASK,
  settleSepaDebit,
  unexpectedState,
  validateAmount,
} from './payments-internal.ts';
import { requireLive } from './shared.ts';

const mandateDataParam = p.object({
  customer_acceptance: p
    .object({
      type: p.enum(['offline', 'online']).required(),
      accepted_at: p.integer(),
      offline: p.object({}),
      online: p.object({ ip_address: p.string().required(), user_agent: p.string().required() }),
    })
    .required(),
});

/** `true`/`false`, or (endive) the kind of off-session payment. */
const offSessionParam = p.enum(['true', 'false', 'one_off', 'recurring']);

const paymentMethodOptionsParam = p.object({
  card: p.object({
    request_three_d_secure: p.enum(['any', 'automatic', 'challenge']),
    setup_future_usage: p.enum(['none', 'off_session', 'on_session']).emptyable(),
  }),
  sepa_debit: p.object({
    mandate_options: p.object({ reference_prefix: p.string({ maxLength: 12 }).emptyable() }),
    setup_future_usage: p.enum(['none', 'off_session', 'on_session']).emptyable(),
  }),
});

const createFields = {
  amount: p.integer().required(),
  currency: p.string().required(),
  automatic_payment_methods: p.object({
    enabled: p.boolean().required(),
    allow_redirects: p.enum(['always', 'never']),
  }),
  capture_method: p.enum(['automatic', 'automatic_async']),
  confirm: p.boolean(),
  confirmation_method: p.enum(['automatic', 'manual']),
  customer: p.string(),
  description: p.string({ maxLength: 1000 }),
  error_on_requires_action: p.boolean(),
  mandate_data: mandateDataParam,
  metadata: p.metadata(),
  off_session: offSessionParam,
  payment_method: p.string(),
  payment_method_options: paymentMethodOptionsParam,
  allowed_payment_method_types: p.array(p.string()),
  receipt_email: p.string(),
  return_url: p.string(),
  setup_future_usage: p.enum(['off_session', 'on_session']),
  statement_descriptor: p.string({ maxLength: 22 }),
  statement_descriptor_suffix: p.string({ maxLength: 22 }),
  transfer_group: p.string(),
};

const updateFields = {
  amount: p.integer(),
  currency: p.string(),
  customer: p.string(),
  description: p.string({ maxLength: 1000 }).emptyable(),
  metadata: p.metadata(),
  payment_method: p.string(),
  allowed_payment_method_types: p.array(p.string()),
  receipt_email: p.string().emptyable(),
  setup_future_usage: p.enum(['off_session', 'on_session']).emptyable(),
  statement_descriptor: p.string({ maxLength: 22 }).emptyable(),
  statement_descriptor_suffix: p.string({ maxLength: 22 }).emptyable(),
  transfer_group: p.string(),
};

const confirmFields = {
  capture_method: p.enum(['automatic', 'automatic_async']),
  error_on_requires_action: p.boolean(),
  mandate_data: mandateDataParam,
  off_session: offSessionParam,
  payment_method: p.string(),
  payment_method_options: paymentMethodOptionsParam,
  receipt_email: p.string().emptyable(),
  return_url: p.string(),
  setup_future_usage: p.enum(['off_session', 'on_session']).emptyable(),
};

const listParams = { ...listFields, created: p.range(), customer: p.string() };

/** Fields Stripe lets you change after the PaymentIntent left the pre-confirmation states. */
const ALWAYS_UPDATABLE = new Set(['description', 'metadata', 'receipt_email']);
const UPDATABLE_STATES = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const CANCELABLE = [
  'requires_payment_method',
  'requires_capture',
  'requires_confirmation',
  'requires_action',
];

export const paymentIntents: ResourceModule = {
  name: 'payment_intents',
  objects: [{ prefix: 'pi_', collection: PAYMENT_INTENT }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/payment_intents',
      params: createFields,
      handler(ctx) {
        const params = ctx.params;
        if (params.mandate_data && !params.confirm) {
          throw errors.invalidParam('mandate_data', 'You can only pass mandate_data when confirm=true.');
        }
        return createPaymentIntent(
          ctx,
          {
            amount: params.amount,
            currency: params.currency,
            customer: params.customer ?? null,
            payment_method: params.payment_method ?? null,
            ...(params.allowed_payment_method_types
              ? { payment_method_types: params.allowed_payment_method_types }
              : {}),
            description: params.description ?? null,
            metadata: applyMetadata({}, params.metadata),
            confirm: params.confirm ?? false,
            off_session: params.off_session !== undefined && params.off_session !== 'false',
            setup_future_usage: params.setup_future_usage ?? null,
            receipt_email: params.receipt_email ?? null,
            statement_descriptor: params.statement_descriptor ?? null,
            statement_descriptor_suffix: params.statement_descriptor_suffix ?? null,
            transfer_group: params.transfer_group ?? null,
            ...(params.automatic_payment_methods
              ? {
                  automatic_payment_methods: {
                    enabled: params.automatic_payment_methods.enabled,
                    allow_redirects: params.automatic_payment_methods.allow_redirects ?? 'always',
                  },
                }
              : {}),
            ...(params.capture_method ? { capture_method: params.capture_method } : {}),
            ...(params.confirmation_method ? { confirmation_method: params.confirmation_method } : {}),
          },
          { throwOnDecline: true, mandateAccepted: params.mandate_data !== undefined },
        );
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_intents',
      params: listParams,
      handler(ctx) {
        const { created, customer } = ctx.params;
        const items = ctx.store
          .collection<Stripe.PaymentIntent>(PAYMENT_INTENT)
          .list((pi) => inRange(pi.created, created) && (customer === undefined || pi.customer === customer));
        return paginate(ctx, PAYMENT_INTENT, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_intents/:id',
      params: { client_secret: p.string() },
      handler: (ctx) => requireLive(ctx, PAYMENT_INTENT, ctx.path.id!, 'payment_intent'),
    }),
    route({
      method: 'POST',
      path: '/v1/payment_intents/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.PaymentIntent>(ctx, PAYMENT_INTENT, ctx.path.id!, 'payment_intent');
        const params = ctx.params;
        const restricted = Object.keys(params).filter((k) => !ALWAYS_UPDATABLE.has(k) && k !== 'expand');
        if (restricted.length && !UPDATABLE_STATES.includes(before.status)) {
          throw unexpectedState(before, 'update', UPDATABLE_STATES);
        }
        const after: Stripe.PaymentIntent = structuredClone(before);
        if (params.amount !== undefined || params.currency !== undefined) {
          after.currency = validateAmount(params.amount ?? before.amount, params.currency ?? before.currency);
          after.amount = params.amount ?? before.amount;
        }
        if (params.allowed_payment_method_types !== undefined) {
          after.payment_method_types = paymentMethodTypesFor(
            after.currency,
            params.allowed_payment_method_types,
          );
          after.allowed_payment_method_types =
            after.payment_method_types as typeof after.allowed_payment_method_types;
        }
        if (params.customer !== undefined) {
          requireLive(ctx, 'customer', params.customer, 'customer', 'customer', 400);
          after.customer = params.customer;
        }
        if (params.description !== undefined) after.description = params.description;
        after.metadata = applyMetadata(after.metadata, params.metadata);
        if (params.payment_method !== undefined) {
          after.payment_method = resolvePaymentMethod(ctx, params.payment_method).id;
          after.status = 'requires_confirmation';
        }
        if (params.receipt_email !== undefined) after.receipt_email = params.receipt_email;
        if (params.setup_future_usage !== undefined) after.setup_future_usage = params.setup_future_usage;
        if (params.statement_descriptor !== undefined)
          after.statement_descriptor = params.statement_descriptor;
        if (params.statement_descriptor_suffix !== undefined) {
          after.statement_descriptor_suffix = params.statement_descriptor_suffix;
        }
        if (params.transfer_group !== undefined) after.transfer_group = params.transfer_group;
        // Stripe has no payment_intent.updated event.
        return ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).replace(after);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_intents/:id/confirm',
      params: confirmFields,
      handler(ctx) {
        let pi = requireLive<Stripe.PaymentIntent>(ctx, PAYMENT_INTENT, ctx.path.id!, 'payment_intent');
        const params = ctx.params;
        const options = {
          offSession: params.off_session !== undefined && params.off_session !== 'false',
          mandateAccepted: params.mandate_data !== undefined,
          throwOnDecline: true,
        };
        if (params.receipt_email !== undefined || params.setup_future_usage !== undefined) {
          pi = ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).replace({
            ...pi,
            ...(params.receipt_email !== undefined ? { receipt_email: params.receipt_email } : {}),
            ...(params.setup_future_usage !== undefined
              ? { setup_future_usage: params.setup_future_usage }
              : {}),
          });
        }
        if (params.payment_method !== undefined) {
          return confirmPaymentIntent(ctx, pi.id, params.payment_method, options);
        }
        return confirmStored(ctx, pi, options);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_intents/:id/cancel',
      params: {
        cancellation_reason: p.enum(['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer']),
      },
      handler(ctx) {
        const before = requireLive<Stripe.PaymentIntent>(ctx, PAYMENT_INTENT, ctx.path.id!, 'payment_intent');
        if (!CANCELABLE.includes(before.status)) throw unexpectedState(before, 'cancel', CANCELABLE);
        const saved = ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).replace({
          ...before,
          status: 'canceled',
          canceled_at: ctx.now(),
          cancellation_reason: ctx.params.cancellation_reason ?? null,
        });
        ctx.emit('payment_intent.canceled', saved);
        return saved;
      },
    }),
  ],
  tasks: {
    [SEPA_SETTLE_TASK](ctx, payload) {
      const { payment_intent, charge } = payload as { payment_intent: string; charge: string };
      settleSepaDebit(ctx, payment_intent, charge);
    },
  },
};
