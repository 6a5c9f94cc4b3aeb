/**
 * PaymentMethods: Stripe's test tokens (`pm_card_visa` …), cards by test number, SEPA Direct Debit by
 * test IBAN; attach/detach, list (also per customer). What a test card or IBAN does when charged is
 * kept next to the PaymentMethod in an internal collection, never on the API object.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { ApiError, errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import { addressParam, requireLive, saveUpdate, toAddress } from './shared.ts';

const COLLECTION = 'payment_method';
const BEHAVIOUR = 'payment_method_behaviour';

/** What charging a payment method does. */
export type ChargeBehaviour =
  | { kind: 'card'; decline: null | 'generic_decline' | 'insufficient_funds'; declineOnAttach: boolean }
  | {
      kind: 'sepa_debit';
      /** `dispute`: succeeds, then the debit is charged back. */
      outcome: 'succeed' | 'fail' | 'dispute';
      /** `delayed` IBANs settle after SEPA_DELAYED_SECONDS instead of SEPA_QUICK_SECONDS. */
      delayed: boolean;
      failureCode: string | null;
    };

interface BehaviourRecord {
  id: string;
  behaviour: ChargeBehaviour;
  /** Stripe refuses to reuse a PaymentMethod that was charged without being attached. */
  consumed: boolean;
}

interface TestCard {
  brand: 'visa' | 'mastercard';
  country: string;
  funding: 'credit' | 'debit';
  decline: null | 'generic_decline' | 'insufficient_funds';
  /** Attaching runs a zero-amount check with the issuer; declining cards fail it. */
  declineOnAttach: boolean;
}

/** Stripe's documented test card numbers the emulator knows. */
const TEST_CARDS: Record<string, TestCard> = {
  '4242424242424242': {
    brand: 'visa',
    country: 'US',
    funding: 'credit',
    decline: null,
    declineOnAttach: false,
  },
  '4000056655665556': {
    brand: 'visa',
    country: 'US',
    funding: 'debit',
    decline: null,
    declineOnAttach: false,
  },
  '5555555555554444': {
    brand: 'mastercard',
    country: 'US',
    funding: 'credit',
    decline: null,
    declineOnAttach: false,
  },
  '4000002760000016': {
    brand: 'visa',
    country: 'DE',
    funding: 'credit',
    decline: null,
    declineOnAttach: false,
  },
  '4000000000000002': {
    brand: 'visa',
    country: 'US',
    funding: 'credit',
    decline: 'generic_decline',
    declineOnAttach: true,
  },
  '4000000000009995': {
    brand: 'visa',
    country: 'US',
    funding: 'credit',
    decline: 'insufficient_funds',
    declineOnAttach: true,
  },
  '4000000000000341': {
    brand: 'visa',
    country: 'US',
    funding: 'credit',
    decline: 'generic_decline',
    declineOnAttach: false,
  },
};

/** Test PaymentMethod tokens → card number. */
const CARD_TOKENS: Record<string, string> = {
  pm_card_visa: '4242424242424242',
  pm_card_visa_debit: '4000056655665556',
  pm_card_mastercard: '5555555555554444',
  pm_card_de: '4000002760000016',
  pm_card_visa_chargeDeclined: '4000000000000002',
  pm_card_visa_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_chargeDeclinedInsufficientFunds: '4000000000009995',
  pm_card_chargeCustomerFail: '4000000000000341',
};

/** Stripe's German SEPA test IBANs (docs: payments/sepa-debit/accept-a-payment#test-integration). */
const TEST_IBANS: Record<string, Extract<ChargeBehaviour, { kind: 'sepa_debit' }>> = {
  DE89370400440532013000: { kind: 'sepa_debit', outcome: 'succeed', delayed: false, failureCode: null },
  DE08370400440532013003: { kind: 'sepa_debit', outcome: 'succeed', delayed: true, failureCode: null },
  DE62370400440532013001: {
    kind: 'sepa_debit',
    outcome: 'fail',
    delayed: false,
    failureCode: 'generic_could_not_process',
  },
  DE78370400440532013004: {
    kind: 'sepa_debit',
    outcome: 'fail',
    delayed: true,
    failureCode: 'debit_not_authorized',
  },
  DE65370400440002222227: {
    kind: 'sepa_debit',
    outcome: 'fail',
    delayed: false,
    failureCode: 'insufficient_funds',
  },
  DE35370400440532013002: { kind: 'sepa_debit', outcome: 'dispute', delayed: false, failureCode: null },
};

/** Test PaymentMethod tokens → IBAN (Stripe's `pm_sepaDebit_*_de`). */
const SEPA_TOKENS: Record<string, string> = {
  pm_sepaDebit_success_de: 'DE89370400440532013000',
  pm_sepaDebit_successDelayed_de: 'DE08370400440532013003',
  pm_sepaDebit_failed_de: 'DE62370400440532013001',
  pm_sepaDebit_failedDelayed_de: 'DE78370400440532013004',
  pm_sepaDebit_disputed_de: 'DE35370400440532013002',
  pm_sepaDebit_insufficientFunds_de: 'DE65370400440002222227',
};

/** Messages Stripe shows for the failure codes the emulator produces. */
export const FAILURE_MESSAGES: Record<string, string> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  generic_could_not_process: 'The payment could not be processed by the bank.',
  debit_not_authorized: 'The customer notified their bank that this payment was unauthorized.',
  sepa_insufficient_funds: 'The customer’s account has insufficient funds to cover this payment.',
};

function fingerprint(kind: string, value: string): string {
  const digest = createHash('sha256').update(`${kind}:${value}`).digest('base64');
  return digest.replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
}

function luhnValid(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function ibanValid(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const v = /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const digit of v) rest = (rest * 10 + Number(digit)) % 97;
  }
  return rest === 1;
}

/** A 402 card error as Stripe answers it (the SDK raises StripeCardError). */
export function cardError(
  code: string,
  message: string,
  param?: string,
  extra: Record<string, unknown> = {},
): ApiError {
  const body = {
    type: 'card_error' as const,
    code,
    message,
    doc_url: `https://docs.stripe.com/error-codes/${code.replace(/_/g, '-')}`,
    ...(param !== undefined ? { param } : {}),
    ...extra,
  };
  return new ApiError(402, body);
}

function emptyBillingDetails(): Stripe.PaymentMethod.BillingDetails {
  return { address: null, email: null, name: null, phone: null, tax_id: null };
}

function basePaymentMethod(
  ctx: EmulatorContext,
  type: 'card' | 'sepa_debit',
  billing: Stripe.PaymentMethod.BillingDetails,
): Stripe.PaymentMethod {
  return {
    id: ctx.newId('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billing,
    created: ctx.now(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: {},
    type,
  } satisfies Stripe.PaymentMethod;
}

function insertWithBehaviour(
  ctx: EmulatorContext,
  pm: Stripe.PaymentMethod,
  behaviour: ChargeBehaviour,
): Stripe.PaymentMethod {
  ctx.store.collection<BehaviourRecord>(BEHAVIOUR).insert({ id: pm.id, behaviour, consumed: false });
  return ctx.store.collection<Stripe.PaymentMethod>(COLLECTION).insert(pm);
}

function createCard(
  ctx: EmulatorContext,
  card: { number: string; exp_month: number; exp_year: number },
  billing: Stripe.PaymentMethod.BillingDetails,
  paramPrefix = 'card',
): Stripe.PaymentMethod {
  const number = card.number.replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) {
    throw cardError('incorrect_number', 'Your card number is incorrect.', `${paramPrefix}[number]`);
  }
  if (card.exp_month < 1 || card.exp_month > 12) {
    throw cardError(
      'invalid_expiry_month',
      "Your card's expiration month is invalid.",
      `${paramPrefix}[exp_month]`,
    );
  }
  const year = card.exp_year < 100 ? 2000 + card.exp_year : card.exp_year;
  const now = new Date(ctx.now() * 1000);
  const expired =
    year < now.getUTCFullYear() || (year === now.getUTCFullYear() && card.exp_month < now.getUTCMonth() + 1);
  if (expired) {
    throw cardError(
      'invalid_expiry_year',
      "Your card's expiration year is invalid.",
      `${paramPrefix}[exp_year]`,
    );
  }
  const test = TEST_CARDS[number];
  if (!test) {
    throw cardError(
      'card_declined',
      'Your card was declined. Your request was in test mode, but used a non test (live) card. For a list of valid test cards, visit: https://docs.stripe.com/testing.',
      undefined,
      { decline_code: 'test_mode_live_card' },
    );
  }
  const pm = basePaymentMethod(ctx, 'card', billing);
  pm.card = {
    brand: test.brand,
    checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'unchecked' },
    country: test.country,
    display_brand: test.brand,
    exp_month: card.exp_month,
    exp_year: year,
    fingerprint: fingerprint('card', number),
    funding: test.funding,
    generated_from: null,
    last4: number.slice(-4),
    networks: { available: [test.brand], preferred: null },
    regulated_status: 'unregulated',
    three_d_secure_usage: { supported: true },
    wallet: null,
  };
  return insertWithBehaviour(ctx, pm, {
    kind: 'card',
    decline: test.decline,
    declineOnAttach: test.declineOnAttach,
  });
}

function createSepa(
  ctx: EmulatorContext,
  rawIban: string,
  billing: Stripe.PaymentMethod.BillingDetails,
): Stripe.PaymentMethod {
  const iban = rawIban.replace(/\s/g, '').toUpperCase();
  if (!ibanValid(iban)) {
    throw errors.invalidParam('sepa_debit[iban]', `The IBAN you provided (${rawIban}) is invalid.`);
  }
  if (!billing.name) {
    // Stripe requires the account holder's name for SEPA Direct Debit mandates.
    throw errors.parameterMissing('billing_details[name]');
  }
  const pm = basePaymentMethod(ctx, 'sepa_debit', billing);
  pm.sepa_debit = {
    bank_code: iban.slice(4, 12),
    branch_code: '',
    country: iban.slice(0, 2),
    fingerprint: fingerprint('iban', iban),
    generated_from: { charge: null, setup_attempt: null },
    last4: iban.slice(-4),
  };
  const behaviour = TEST_IBANS[iban] ?? {
    kind: 'sepa_debit',
    outcome: 'succeed',
    delayed: false,
    failureCode: null,
  };
  return insertWithBehaviour(ctx, pm, behaviour);
}

/** Creates a sepa_debit PaymentMethod from an IBAN (test IBANs decide the outcome; others succeed). */
export function createSepaPaymentMethod(
  ctx: EmulatorContext,
  iban: string,
  billing: { name: string; email?: string },
): Stripe.PaymentMethod {
  return createSepa(ctx, iban, {
    ...emptyBillingDetails(),
    name: billing.name,
    email: billing.email ?? null,
  });
}

/** Whether `value` is one of Stripe's test PaymentMethod tokens. */
export function isTestToken(value: string): boolean {
  return Object.hasOwn(CARD_TOKENS, value) || Object.hasOwn(SEPA_TOKENS, value);
}

/**
 * A test token (`pm_card_visa` …) becomes a fresh PaymentMethod, as on Stripe; an id returns the stored
 * one. Unknown ids are Stripe's 400 `resource_missing` on `param`.
 */
export function resolvePaymentMethod(
  ctx: EmulatorContext,
  idOrToken: string,
  param = 'payment_method',
): Stripe.PaymentMethod {
  const cardNumber = CARD_TOKENS[idOrToken];
  if (cardNumber) {
    return createCard(
      ctx,
      { number: cardNumber, exp_month: 12, exp_year: yearOf(ctx) + 5 },
      emptyBillingDetails(),
    );
  }
  const iban = SEPA_TOKENS[idOrToken];
  if (iban) {
    return createSepa(ctx, iban, {
      ...emptyBillingDetails(),
      name: 'Jenny Rosen',
      email: 'jenny@example.com',
    });
  }
  return requireLive<Stripe.PaymentMethod>(ctx, COLLECTION, idOrToken, 'PaymentMethod', param, 400);
}

function yearOf(ctx: EmulatorContext): number {
  return new Date(ctx.now() * 1000).getUTCFullYear();
}

/** What charging this PaymentMethod does. */
export function chargeBehaviour(ctx: EmulatorContext, pmId: string): ChargeBehaviour {
  const rec = ctx.store.collection<BehaviourRecord>(BEHAVIOUR).get(pmId);
  if (!rec) throw new Error(`Stripe emulator: no behaviour recorded for ${pmId}`);
  return rec.behaviour;
}

/**
 * Checks that a PaymentMethod may pay for `customer` and marks a customer-less one as used: Stripe lets a
 * PaymentMethod that belongs to no customer be used once only.
 */
export function usePaymentMethod(
  ctx: EmulatorContext,
  pm: Stripe.PaymentMethod,
  customer: string | null,
  param = 'payment_method',
  /** The payment saves it to `customer` (setup_future_usage), so it is not used up. */
  willAttach = false,
  /** Only check (a confirmation's validation before anything is stored). */
  dryRun = false,
): void {
  if (pm.customer && customer && pm.customer !== customer) {
    throw errors.invalidParam(
      param,
      `The provided PaymentMethod belongs to a different Customer (${pm.customer}). Provide a PaymentMethod attached to ${customer} or detach it first.`,
    );
  }
  if (pm.customer && !customer) {
    throw errors.invalidParam(
      param,
      `The provided PaymentMethod was previously attached to a Customer. To use a PaymentMethod that is attached to a Customer, you must pass the Customer ID (${pm.customer}).`,
    );
  }
  if (pm.customer || willAttach) return;
  const behaviours = ctx.store.collection<BehaviourRecord>(BEHAVIOUR);
  const rec = behaviours.get(pm.id);
  if (rec?.consumed) {
    throw errors.invalidParam(
      param,
      'This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.',
    );
  }
  if (rec && !dryRun) behaviours.replace({ ...rec, consumed: true });
}

/**
 * Attaches a PaymentMethod to a customer (`payment_method.attached`). Cards that the issuer declines
 * fail the attach check with a 402, as on Stripe.
 */
export function attachPaymentMethod(
  ctx: EmulatorContext,
  pm: Stripe.PaymentMethod,
  customer: string,
): Stripe.PaymentMethod {
  if (pm.customer === customer) return pm;
  if (pm.customer) {
    throw errors.invalidParam(
      undefined,
      'The payment method you provided has already been attached to a customer.',
      'payment_method_unexpected_state',
    );
  }
  const rec = ctx.store.collection<BehaviourRecord>(BEHAVIOUR).get(pm.id);
  if (rec?.consumed) {
    throw errors.invalidParam(
      undefined,
      'This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.',
      'payment_method_unexpected_state',
    );
  }
  const b = rec?.behaviour;
  if (b?.kind === 'card' && b.declineOnAttach && b.decline) {
    throw cardError('card_declined', FAILURE_MESSAGES[b.decline]!, undefined, { decline_code: b.decline });
  }
  const saved = ctx.store.collection<Stripe.PaymentMethod>(COLLECTION).replace({ ...pm, customer });
  ctx.emit('payment_method.attached', saved);
  return saved;
}

/**
 * For customers.update: `invoice_settings.default_payment_method` must name a PaymentMethod attached to
 * that customer. Throws Stripe's 400 otherwise; returns silently for null (unset).
 */
export function assertAttachedPaymentMethod(
  ctx: EmulatorContext,
  customer: string,
  pmId: string | null,
  param = 'invoice_settings[default_payment_method]',
): void {
  if (!pmId) return;
  const pm = ctx.store.collection<Stripe.PaymentMethod>(COLLECTION).get(pmId);
  if (!pm) throw errors.resourceMissing('PaymentMethod', pmId, param, 400);
  if (pm.customer !== customer) {
    throw errors.invalidParam(
      param,
      `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
      'resource_missing',
    );
  }
}

const billingFields = {
  address: addressParam.emptyable(),
  email: p.string().emptyable(),
  name: p.string().emptyable(),
  phone: p.string().emptyable(),
  tax_id: p.string(),
};
const billingDetailsParam = p.object(billingFields);
type BillingParam = Infer<typeof billingFields>;

function toBillingDetails(b: BillingParam | undefined): Stripe.PaymentMethod.BillingDetails {
  return {
    address: b?.address ? toAddress(b.address) : null,
    email: b?.email ?? null,
    name: b?.name ?? null,
    phone: b?.phone ?? null,
    tax_id: b?.tax_id ?? null,
  };
}

const createFields = {
  type: p.enum(['card', 'sepa_debit']),
  card: p.object({
    number: p.string(),
    exp_month: p.integer(),
    exp_year: p.integer(),
    cvc: p.string(),
    token: p.string(),
    networks: p.object({ preferred: p.enum(['cartes_bancaires', 'mastercard', 'visa']) }),
  }),
  sepa_debit: p.object({ iban: p.string().required() }),
  billing_details: billingDetailsParam,
  allow_redisplay: p.enum(['always', 'limited', 'unspecified']),
  metadata: p.metadata(),
  customer: p.string(),
  payment_method: p.string(),
};

const updateFields = {
  billing_details: billingDetailsParam,
  allow_redisplay: p.enum(['always', 'limited', 'unspecified']),
  metadata: p.metadata(),
  card: p.object({ exp_month: p.integer(), exp_year: p.integer() }),
};

const LIST_TYPES = ['card', 'sepa_debit', 'customer_balance'] as const;
const listParams = {
  ...listFields,
  customer: p.string(),
  customer_account: p.string(),
  type: p.enum(LIST_TYPES),
};
const customerListParams = {
  ...listFields,
  type: p.enum(LIST_TYPES),
  allow_redisplay: p.enum(['always', 'limited', 'unspecified']),
};

function create(ctx: EmulatorContext, params: Infer<typeof createFields>): Stripe.PaymentMethod {
  if (params.customer !== undefined || params.payment_method !== undefined) {
    // Cloning a customer's PaymentMethod is a Connect feature; a single account has nothing to clone to.
    throw errors.invalidParam(
      params.customer !== undefined ? 'customer' : 'payment_method',
      'Cloning PaymentMethods is only available to Connect platforms.',
    );
  }
  if (!params.type) throw errors.parameterMissing('type');
  const billing = toBillingDetails(params.billing_details);
  let pm: Stripe.PaymentMethod;
  if (params.type === 'card') {
    if (params.sepa_debit) throw errors.parameterUnknown('sepa_debit');
    const c = params.card;
    if (!c) throw errors.parameterMissing('card');
    if (c.token !== undefined) {
      throw errors.resourceMissing('token', c.token, 'card[token]', 400);
    }
    if (c.number === undefined) throw errors.parameterMissing('card[number]');
    if (c.exp_month === undefined) throw errors.parameterMissing('card[exp_month]');
    if (c.exp_year === undefined) throw errors.parameterMissing('card[exp_year]');
    pm = createCard(ctx, { number: c.number, exp_month: c.exp_month, exp_year: c.exp_year }, billing);
  } else {
    if (params.card) throw errors.parameterUnknown('card');
    if (!params.sepa_debit) throw errors.parameterMissing('sepa_debit');
    pm = createSepa(ctx, params.sepa_debit.iban, billing);
  }
  const extra: Partial<Stripe.PaymentMethod> = {};
  if (params.allow_redisplay) extra.allow_redisplay = params.allow_redisplay;
  if (params.metadata) extra.metadata = applyMetadata({}, params.metadata);
  if (Object.keys(extra).length)
    pm = ctx.store.collection<Stripe.PaymentMethod>(COLLECTION).replace({ ...pm, ...extra });
  return pm;
}

export const paymentMethods: ResourceModule = {
  name: 'payment_methods',
  objects: [{ prefix: 'pm_', collection: COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/payment_methods',
      params: createFields,
      handler: (ctx) => create(ctx, ctx.params),
    }),
    route({
      method: 'GET',
      path: '/v1/payment_methods',
      params: listParams,
      handler(ctx) {
        const { customer, type } = ctx.params;
        if (customer !== undefined) requireLive(ctx, 'customer', customer, 'customer', 'customer', 400);
        const items = ctx.store
          .collection<Stripe.PaymentMethod>(COLLECTION)
          .list(
            (pm) =>
              (customer === undefined ? pm.customer !== null : pm.customer === customer) &&
              (type === undefined || pm.type === type),
          );
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/payment_methods/:id',
      params: {},
      handler(ctx) {
        const id = ctx.path.id!;
        if (isTestToken(id)) return resolvePaymentMethod(ctx, id, 'id');
        return requireLive<Stripe.PaymentMethod>(ctx, COLLECTION, id, 'PaymentMethod');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_methods/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.PaymentMethod>(ctx, COLLECTION, ctx.path.id!, 'PaymentMethod');
        const after: Stripe.PaymentMethod = structuredClone(before);
        const { billing_details: b, allow_redisplay, metadata, card } = ctx.params;
        if (b) {
          if (b.address !== undefined)
            after.billing_details.address = b.address ? toAddress(b.address) : null;
          if (b.email !== undefined) after.billing_details.email = b.email;
          if (b.name !== undefined) after.billing_details.name = b.name;
          if (b.phone !== undefined) after.billing_details.phone = b.phone;
          if (b.tax_id !== undefined) after.billing_details.tax_id = b.tax_id;
        }
        if (allow_redisplay) after.allow_redisplay = allow_redisplay;
        after.metadata = applyMetadata(after.metadata ?? {}, metadata);
        if (card) {
          if (!after.card) throw errors.parameterUnknown('card');
          if (card.exp_month !== undefined) after.card.exp_month = card.exp_month;
          if (card.exp_year !== undefined) after.card.exp_year = card.exp_year;
        }
        return saveUpdate(ctx, COLLECTION, before, after, 'payment_method.updated');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_methods/:id/attach',
      params: { customer: p.string(), customer_account: p.string() },
      handler(ctx) {
        if (ctx.params.customer_account !== undefined) throw errors.parameterUnknown('customer_account');
        const customer = ctx.params.customer;
        if (customer === undefined) throw errors.parameterMissing('customer');
        requireLive(ctx, 'customer', customer, 'customer', 'customer', 400);
        const id = ctx.path.id!;
        const pm = isTestToken(id)
          ? resolvePaymentMethod(ctx, id, 'id')
          : requireLive<Stripe.PaymentMethod>(ctx, COLLECTION, id, 'PaymentMethod');
        return attachPaymentMethod(ctx, pm, customer);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/payment_methods/:id/detach',
      params: {},
      handler(ctx) {
        const pm = requireLive<Stripe.PaymentMethod>(ctx, COLLECTION, ctx.path.id!, 'PaymentMethod');
        if (!pm.customer) {
          throw errors.invalidParam(
            undefined,
            'The payment method you provided is not attached to a customer so detachment is impossible.',
            'payment_method_unexpected_state',
          );
        }
        const previousCustomer = pm.customer;
        const saved = ctx.store
          .collection<Stripe.PaymentMethod>(COLLECTION)
          .replace({ ...pm, customer: null });
        const behaviours = ctx.store.collection<BehaviourRecord>(BEHAVIOUR);
        const rec = behaviours.get(pm.id);
        if (rec) behaviours.replace({ ...rec, consumed: true });
        ctx.emit('payment_method.detached', saved, { customer: previousCustomer });
        return saved;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/:customer/payment_methods',
      params: customerListParams,
      handler(ctx) {
        const customer = ctx.path.customer!;
        requireLive(ctx, 'customer', customer, 'customer');
        const { type, allow_redisplay } = ctx.params;
        const items = ctx.store
          .collection<Stripe.PaymentMethod>(COLLECTION)
          .list(
            (pm) =>
              pm.customer === customer &&
              (type === undefined || pm.type === type) &&
              (allow_redisplay === undefined || pm.allow_redisplay === allow_redisplay),
          );
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/:customer/payment_methods/:id',
      params: {},
      handler(ctx) {
        const customer = ctx.path.customer!;
        requireLive(ctx, 'customer', customer, 'customer');
        const pm = ctx.store.collection<Stripe.PaymentMethod>(COLLECTION).get(ctx.path.id!);
        if (!pm || pm.customer !== customer) throw errors.resourceMissing('PaymentMethod', ctx.path.id!);
        return pm;
      },
    }),
  ],
};
