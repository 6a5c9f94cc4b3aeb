/**
 * SetupIntents, as far as Checkout's setup mode needs them: the session creates one, the hosted page
 * succeeds or fails it, expiring the session cancels it. Over the API: retrieve and list. Creating and
 * confirming SetupIntents directly is not emulated (those routes answer 404).
 */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { paginate } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import { requireLive } from './shared.ts';

export const SETUP_INTENT_COLLECTION = 'setup_intent';

/** A SetupIntent waiting for a payment method; typed against the SDK so shape drift fails to compile. */
function buildSetupIntent(
  ctx: EmulatorContext,
  input: {
    customer: string | null;
    description: string | null;
    metadata: Record<string, string>;
    paymentMethodTypes: string[];
  },
): Stripe.SetupIntent {
  const id = ctx.newId('seti', 24);
  return {
    id,
    object: 'setup_intent',
    allowed_payment_method_types: null,
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${randomBytes(12).toString('base64url')}`,
    created: ctx.now(),
    customer: input.customer,
    description: input.description,
    excluded_payment_method_types: null,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: input.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: input.paymentMethodTypes.includes('card')
      ? { card: { mandate_options: null, network: null, request_three_d_secure: 'automatic' } }
      : {},
    payment_method_types: input.paymentMethodTypes,
    single_use_mandate: null,
    status: 'requires_payment_method',
    usage: 'off_session',
  } satisfies Stripe.SetupIntent;
}

/** Creates the SetupIntent of a setup-mode Checkout Session (`setup_intent.created`). */
export function createSetupIntent(
  ctx: EmulatorContext,
  input: {
    customer: string | null;
    description?: string;
    metadata?: Record<string, string> | null;
    paymentMethodTypes: string[];
  },
): Stripe.SetupIntent {
  const si = buildSetupIntent(ctx, {
    customer: input.customer,
    description: input.description ?? null,
    metadata: applyMetadata({}, input.metadata),
    paymentMethodTypes: input.paymentMethodTypes,
  });
  const saved = ctx.store.collection<Stripe.SetupIntent>(SETUP_INTENT_COLLECTION).insert(si);
  ctx.emit('setup_intent.created', saved);
  return saved;
}

function store(ctx: EmulatorContext) {
  return ctx.store.collection<Stripe.SetupIntent>(SETUP_INTENT_COLLECTION);
}

/** The payment method is set up: `setup_intent.succeeded`. */
export function succeedSetupIntent(
  ctx: EmulatorContext,
  id: string,
  paymentMethod: string,
): Stripe.SetupIntent {
  const si = store(ctx).get(id)!;
  const saved = store(ctx).replace({
    ...si,
    status: 'succeeded',
    payment_method: paymentMethod,
    last_setup_error: null,
  });
  ctx.emit('setup_intent.succeeded', saved);
  return saved;
}

/** The attempt failed (a declined card): back to `requires_payment_method`, `setup_intent.setup_failed`. */
export function failSetupIntent(
  ctx: EmulatorContext,
  id: string,
  error: { code: string; decline_code?: string; message: string; payment_method: Stripe.PaymentMethod },
): Stripe.SetupIntent {
  const si = store(ctx).get(id)!;
  const lastSetupError: Stripe.SetupIntent.LastSetupError = {
    code: error.code,
    doc_url: `https://docs.stripe.com/error-codes/${error.code.replace(/_/g, '-')}`,
    message: error.message,
    payment_method: error.payment_method,
    type: 'card_error',
  };
  if (error.decline_code) lastSetupError.decline_code = error.decline_code;
  const saved = store(ctx).replace({
    ...si,
    status: 'requires_payment_method',
    payment_method: null,
    last_setup_error: lastSetupError,
  });
  ctx.emit('setup_intent.setup_failed', saved);
  return saved;
}

/** Cancels a SetupIntent that has not succeeded (`setup_intent.canceled`); used when its session expires. */
export function cancelSetupIntent(
  ctx: EmulatorContext,
  id: string,
  reason: Stripe.SetupIntent.CancellationReason,
): Stripe.SetupIntent | undefined {
  const si = store(ctx).get(id);
  if (!si || si.status === 'succeeded' || si.status === 'canceled') return si;
  const saved = store(ctx).replace({ ...si, status: 'canceled', cancellation_reason: reason });
  ctx.emit('setup_intent.canceled', saved);
  return saved;
}

export const setupIntents: ResourceModule = {
  name: 'setup_intents',
  objects: [{ prefix: 'seti_', collection: SETUP_INTENT_COLLECTION }],
  routes: [
    route({
      method: 'GET',
      path: '/v1/setup_intents',
      params: {
        ...listFields,
        attach_to_self: p.boolean(),
        created: p.range(),
        customer: p.string(),
        payment_method: p.string(),
      },
      handler(ctx) {
        const q = ctx.params;
        const items = store(ctx).list(
          (si) =>
            (q.customer === undefined || si.customer === q.customer) &&
            (q.payment_method === undefined || si.payment_method === q.payment_method) &&
            inRange(si.created, q.created),
        );
        return paginate(ctx, SETUP_INTENT_COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/setup_intents/:id',
      params: { client_secret: p.string() },
      handler(ctx) {
        return requireLive<Stripe.SetupIntent>(ctx, SETUP_INTENT_COLLECTION, ctx.path.id!, 'setup_intent');
      },
    }),
  ],
};
