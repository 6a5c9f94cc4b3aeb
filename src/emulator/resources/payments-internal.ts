/**
 * The payments engine and its contract with other resources (billing, checkout). PaymentIntent routes
 * (payment-intents.ts) and internal callers go through the same functions, so an invoice payment fires
 * exactly the events an API confirmation would.
 *
 * Outcomes: cards decide at confirmation; SEPA Direct Debit goes `processing` and settles when the
 * emulator clock passes SEPA_QUICK_SECONDS (or SEPA_DELAYED_SECONDS for the "delayed" test IBANs) —
 * Stripe's test mode settles the plain test IBANs within moments and the delayed ones after "at least
 * three minutes".
 */
import type Stripe from 'stripe';
import { ApiError, errors } from '../errors.ts';
import type { EmulatorContext } from '../resource.ts';
import type { StoredObject } from '../store.ts';
import { recordBalanceTransaction as recordBt } from './balance.ts';
import {
  APPROVED_OUTCOME,
  buildCharge,
  CARD_FUNDS_DELAY_SECONDS,
  CHARGE,
  chargeFunds,
  declinedOutcome,
} from './charges.ts';
import { createSepaDispute } from './disputes.ts';
import {
  attachPaymentMethod,
  type ChargeBehaviour,
  cardError,
  chargeBehaviour,
  FAILURE_MESSAGES,
  resolvePaymentMethod as resolvePm,
  usePaymentMethod,
} from './payment-methods.ts';

export { createSepaPaymentMethod } from './payment-methods.ts';

export const PAYMENT_INTENT = 'payment_intent';
/** Internal: who created a PaymentIntent (`{id: pi_…, origin}`). */
const ORIGIN = 'payment_intent_origin';
/** Internal: SEPA PaymentMethods with an accepted mandate (`{id: pm_…}`). */
const MANDATE = 'payment_method_mandate';

/** Emulator seconds until a SEPA debit with a plain test IBAN settles. */
export const SEPA_QUICK_SECONDS = 60;
/** Emulator seconds until a SEPA debit with a "delayed" test IBAN settles. */
export const SEPA_DELAYED_SECONDS = 180;
/** The scheduled task kind that settles a SEPA debit (handled in payment-intents.ts). */
export const SEPA_SETTLE_TASK = 'payment_intent.sepa_settle';

/** Who created a PaymentIntent, for outcome listeners. */
export interface PaymentOrigin {
  kind: string;
  id: string;
}

export type PaymentIntentOutcomeListener = (
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  origin: PaymentOrigin | undefined,
) => void;

const listeners: PaymentIntentOutcomeListener[] = [];

/**
 * Registers a listener for PaymentIntent outcomes. It is called, after the PaymentIntent's own events,
 * with status `succeeded`, `requires_payment_method` (failed; see `last_payment_error`) or `processing`
 * (a SEPA debit was submitted; the final outcome follows when it settles). Register at module load.
 */
export function onPaymentIntentOutcome(listener: PaymentIntentOutcomeListener): void {
  listeners.push(listener);
}

function notify(ctx: EmulatorContext, pi: Stripe.PaymentIntent): void {
  const origin = ctx.store.collection<StoredObject & { origin: PaymentOrigin }>(ORIGIN).get(pi.id)?.origin;
  for (const l of listeners) l(ctx, structuredClone(pi), origin);
}

/** Creates a PaymentMethod from a test token like `pm_card_visa`, or returns the stored one by id. */
export function resolvePaymentMethod(ctx: EmulatorContext, idOrToken: string): Stripe.PaymentMethod {
  return resolvePm(ctx, idOrToken);
}

/** Records money received outside card/SEPA (e.g. bank transfer funding): a charge-less transaction. */
export function recordBalanceTransaction(
  ctx: EmulatorContext,
  bt: {
    amount: number;
    fee: number;
    type: string;
    source: string | null;
    description?: string;
    availableOn?: number;
    currency?: string;
  },
): Stripe.BalanceTransaction {
  return recordBt(ctx, bt);
}

/** Currencies the emulator accepts, with Stripe's minimum charge amount (minor units). */
const MINIMUM_AMOUNTS: Record<string, number> = {
  eur: 50,
  usd: 50,
  gbp: 30,
  chf: 50,
  aud: 50,
  cad: 50,
  nzd: 50,
  sgd: 50,
  hkd: 400,
  dkk: 250,
  nok: 300,
  sek: 300,
  pln: 200,
  czk: 1500,
  huf: 17500,
  ron: 200,
  bgn: 100,
  jpy: 50,
  mxn: 1000,
  brl: 50,
  inr: 50,
  aed: 200,
};

const CURRENCY_SYMBOL: Record<string, string> = { eur: '€', usd: '$', gbp: '£' };

function formatAmount(amount: number, currency: string): string {
  const symbol = CURRENCY_SYMBOL[currency] ?? '';
  const major = (amount / 100).toLocaleString('en-US', {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  return `${symbol}${major}`;
}

/** Stripe's checks on amount and currency; returns the lower-cased currency. */
export function validateAmount(amount: number, rawCurrency: string): string {
  const currency = rawCurrency.toLowerCase();
  const minimum = MINIMUM_AMOUNTS[currency];
  if (minimum === undefined) {
    throw errors.invalidParam(
      'currency',
      `Invalid currency: ${rawCurrency}. Stripe currently supports these currencies: ${Object.keys(MINIMUM_AMOUNTS).join(', ')}`,
    );
  }
  if (amount < minimum) {
    throw errors.invalidParam(
      'amount',
      `Amount must be at least ${formatAmount(minimum, currency)} ${currency}`,
      'amount_too_small',
    );
  }
  if (amount > 99_999_999) {
    throw errors.invalidParam(
      'amount',
      `Amount must be no more than ${formatAmount(99_999_999, currency)}`,
      'amount_too_large',
    );
  }
  return currency;
}

const KNOWN_TYPES = ['card', 'sepa_debit', 'customer_balance'];

/**
 * Checks the allowed types (endive's `allowed_payment_method_types`; the contract's
 * `payment_method_types`) against the currency; by default card, plus SEPA for EUR.
 */
export function paymentMethodTypesFor(currency: string, requested: string[] | undefined): string[] {
  if (!requested) return currency === 'eur' ? ['card', 'sepa_debit'] : ['card'];
  requested.forEach((t, i) => {
    if (!KNOWN_TYPES.includes(t)) {
      throw errors.invalidParam(
        `allowed_payment_method_types[${i}]`,
        `The payment method type "${t}" is invalid. Please ensure the provided type is activated in your dashboard (https://dashboard.stripe.com/account/payments/settings) and your account is enabled for any preview features that you are trying to use.`,
      );
    }
    if (t === 'sepa_debit' && currency !== 'eur') {
      throw errors.invalidParam(
        'allowed_payment_method_types',
        `The currency provided (${currency}) is invalid for one or more payment method types on this PaymentIntent. The payment method type sepa_debit only supports the following currencies: eur.`,
        'payment_intent_invalid_parameter',
      );
    }
  });
  return [...requested];
}

/** Everything a PaymentIntent can be created with (API create and internal callers). */
export interface CreatePaymentIntentParams {
  amount: number;
  currency: string;
  customer?: string | null;
  payment_method?: string | null;
  payment_method_types?: string[];
  description?: string | null;
  metadata?: Record<string, string>;
  confirm?: boolean;
  off_session?: boolean;
  setup_future_usage?: 'off_session' | 'on_session' | null;
  /** Who created it, kept internal for outcome listeners. */
  origin?: { kind: string; id: string };
  receipt_email?: string | null;
  statement_descriptor?: string | null;
  statement_descriptor_suffix?: string | null;
  transfer_group?: string | null;
  /** Only the API route sets this: whether the caller asked for automatic_payment_methods. */
  automatic_payment_methods?: Stripe.PaymentIntent.AutomaticPaymentMethods | null;
  capture_method?: 'automatic' | 'automatic_async';
  confirmation_method?: 'automatic' | 'manual';
}

/** How a confirmation was asked for. */
export interface ConfirmOptions {
  offSession?: boolean;
  /** A SEPA mandate was accepted with this confirmation (API `mandate_data`, checkout, invoice). */
  mandateAccepted?: boolean;
  /** API confirmations answer a decline with a 402; internal callers get the failed PaymentIntent. */
  throwOnDecline?: boolean;
  /** The param name errors point at. */
  param?: string;
}

function saveNew(ctx: EmulatorContext, pi: Stripe.PaymentIntent): Stripe.PaymentIntent {
  return ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).insert(pi);
}

function save(ctx: EmulatorContext, pi: Stripe.PaymentIntent): Stripe.PaymentIntent {
  return ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).replace(pi);
}

function customerId(pi: Stripe.PaymentIntent): string | null {
  return typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null);
}

/**
 * Creates a PaymentIntent as `POST /v1/payment_intents` would (emitting `payment_intent.created`) and,
 * with `confirm`, confirms it. Internal callers get a declined PaymentIntent back instead of a 402.
 */
export function createPaymentIntent(
  ctx: EmulatorContext,
  params: CreatePaymentIntentParams,
  confirmOptions: ConfirmOptions = {},
): Stripe.PaymentIntent {
  const currency = validateAmount(params.amount, params.currency);
  const types = paymentMethodTypesFor(currency, params.payment_method_types);
  if (params.customer) {
    const customers = ctx.store.collection('customer');
    if (!customers.isLive(params.customer))
      throw errors.resourceMissing('customer', params.customer, 'customer', 400);
  }
  if (params.off_session && !params.confirm) {
    throw errors.invalidParam('off_session', 'You can only pass off_session when confirm=true.');
  }
  let pm: Stripe.PaymentMethod | null = null;
  if (params.payment_method) pm = resolvePm(ctx, params.payment_method);
  const id = ctx.newId('pi', 24);
  const automatic =
    params.automatic_payment_methods !== undefined
      ? params.automatic_payment_methods
      : { allow_redirects: 'always' as const, enabled: true };
  const pi: Stripe.PaymentIntent = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: params.payment_method_types
      ? (types as Stripe.PaymentIntent.AllowedPaymentMethodType[])
      : null,
    amount: params.amount,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: automatic,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: params.capture_method ?? 'automatic_async',
    client_secret: `${id}_secret_${ctx.newId('s', 25).slice(2)}`,
    confirmation_method: params.confirmation_method ?? 'automatic',
    created: ctx.now(),
    currency,
    customer: params.customer ?? null,
    customer_account: null,
    description: params.description ?? null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: { ...(params.metadata ?? {}) },
    next_action: null,
    on_behalf_of: null,
    payment_method: pm?.id ?? null,
    payment_method_configuration_details: automatic ? { id: 'pmc_emulator_default', parent: null } : null,
    payment_method_options: paymentMethodOptions(types),
    payment_method_types: types,
    payment_record: null,
    processing: null,
    receipt_email: params.receipt_email ?? null,
    review: null,
    setup_future_usage: params.setup_future_usage ?? null,
    shipping: null,
    source: null,
    statement_descriptor: params.statement_descriptor ?? null,
    statement_descriptor_suffix: params.statement_descriptor_suffix ?? null,
    status: pm ? 'requires_confirmation' : 'requires_payment_method',
    transfer_data: null,
    transfer_group: params.transfer_group ?? null,
  };
  const confirm: ConfirmOptions = {
    offSession: params.off_session ?? false,
    mandateAccepted: confirmOptions.mandateAccepted ?? !confirmOptions.throwOnDecline,
    ...confirmOptions,
  };
  if (params.confirm && pm) checkConfirmation(ctx, pi, pm, confirm, true);
  const saved = saveNew(ctx, pi);
  if (params.origin) {
    ctx.store
      .collection<StoredObject & { origin: PaymentOrigin }>(ORIGIN)
      .insert({ id, origin: params.origin });
  }
  ctx.emit('payment_intent.created', saved);
  if (!params.confirm) return saved;
  // Stripe's error carries the PaymentIntent it created, so this one is kept.
  if (!pm) throw missingPaymentMethod(saved);
  return confirmWith(ctx, saved, pm, confirm);
}

function paymentMethodOptions(types: string[]): Stripe.PaymentIntent.PaymentMethodOptions {
  const out: Stripe.PaymentIntent.PaymentMethodOptions = {};
  if (types.includes('card')) {
    out.card = {
      installments: null,
      mandate_options: null,
      network: null,
      request_three_d_secure: 'automatic',
    };
  }
  if (types.includes('sepa_debit')) out.sepa_debit = {};
  return out;
}

/** Stripe's 400 for confirming without a payment method. */
export function missingPaymentMethod(pi: Stripe.PaymentIntent): ApiError {
  return new ApiError(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    doc_url: 'https://docs.stripe.com/error-codes/payment-intent-unexpected-state',
    message:
      "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
    payment_intent: pi,
  });
}

/** Stripe's 400 for an action the PaymentIntent's status does not allow. */
export function unexpectedState(pi: Stripe.PaymentIntent, action: string, allowed: string[]): ApiError {
  return new ApiError(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    doc_url: 'https://docs.stripe.com/error-codes/payment-intent-unexpected-state',
    message: `You cannot ${action} this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be ${action === 'confirm' ? 'confirmed' : `${action}ed`}: ${allowed.join(', ')}.`,
    payment_intent: pi,
  });
}

const CONFIRMABLE = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

/** Confirms an existing PaymentIntent with a payment method (checkout completion, invoice payment). */
export function confirmPaymentIntent(
  ctx: EmulatorContext,
  id: string,
  paymentMethod: string,
  options: ConfirmOptions = {},
): Stripe.PaymentIntent {
  const pi = ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).get(id);
  if (!pi) throw errors.resourceMissing('payment_intent', id);
  if (!CONFIRMABLE.includes(pi.status)) throw unexpectedState(pi, 'confirm', CONFIRMABLE.slice(0, 2));
  const pm = resolvePm(ctx, paymentMethod, options.param);
  return confirmWith(ctx, pi, pm, { mandateAccepted: true, ...options });
}

/** Confirms with the PaymentIntent's own payment method (API confirm without `payment_method`). */
export function confirmStored(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  options: ConfirmOptions,
): Stripe.PaymentIntent {
  if (!CONFIRMABLE.includes(pi.status)) throw unexpectedState(pi, 'confirm', CONFIRMABLE.slice(0, 2));
  if (!pi.payment_method) throw missingPaymentMethod(pi);
  const pmId = typeof pi.payment_method === 'string' ? pi.payment_method : pi.payment_method.id;
  return confirmWith(ctx, pi, resolvePm(ctx, pmId), options);
}

/**
 * The 400s a confirmation can answer, checked before anything is stored: Stripe creates no
 * PaymentIntent for a create-and-confirm request it rejects as invalid.
 */
function checkConfirmation(
  ctx: EmulatorContext,
  current: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  options: ConfirmOptions,
  dryRun: boolean,
): void {
  const param = options.param ?? 'payment_method';
  if (!current.payment_method_types.includes(pm.type)) {
    throw errors.invalidParam(
      param,
      `The provided PaymentMethod type (${pm.type}) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${current.payment_method_types.join(', ')}.`,
      'payment_intent_incompatible_payment_method',
    );
  }
  const customer = customerId(current);
  usePaymentMethod(ctx, pm, customer, param, Boolean(current.setup_future_usage && customer), dryRun);
  if (pm.type === 'sepa_debit') {
    const mandates = ctx.store.collection<StoredObject>(MANDATE);
    if (options.mandateAccepted) {
      if (!dryRun && !mandates.get(pm.id)) mandates.insert({ id: pm.id });
    } else if (!mandates.get(pm.id)) {
      throw errors.invalidParam(
        'mandate_data',
        'A mandate is required to confirm a PaymentIntent with a sepa_debit PaymentMethod. Pass mandate_data[customer_acceptance], or use a PaymentMethod that already has a mandate.',
        'payment_intent_mandate_invalid',
      );
    }
  }
}

function confirmWith(
  ctx: EmulatorContext,
  current: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  options: ConfirmOptions,
): Stripe.PaymentIntent {
  checkConfirmation(ctx, current, pm, options, false);
  const pi: Stripe.PaymentIntent = { ...current, payment_method: pm.id, last_payment_error: null };
  const behaviour = chargeBehaviour(ctx, pm.id);
  if (behaviour.kind === 'sepa_debit') return submitSepa(ctx, pi, pm, behaviour);
  if (behaviour.decline) {
    const failed = failPayment(
      ctx,
      pi,
      pm,
      buildCharge(ctx, pi, pm, 'failed', cardFailure(behaviour.decline)),
    );
    if (options.throwOnDecline) throw declineError(failed, pm);
    return failed;
  }
  const charge = ctx.store.collection<Stripe.Charge>(CHARGE).insert(buildCharge(ctx, pi, pm, 'succeeded'));
  ctx.schedule(ctx.now() + CARD_FUNDS_DELAY_SECONDS, 'charge.card_funds', { id: charge.id });
  return succeed(ctx, pi, pm, charge);
}

function cardFailure(decline: string): { code: string; message: string; reason: string } {
  return { code: 'card_declined', message: FAILURE_MESSAGES[decline]!, reason: decline };
}

function declineError(pi: Stripe.PaymentIntent, pm: Stripe.PaymentMethod): ApiError {
  const e = pi.last_payment_error!;
  return cardError(e.code!, e.message!, undefined, {
    charge: e.charge,
    decline_code: e.decline_code,
    payment_intent: pi,
    payment_method: pm,
    request_log_url: null,
  });
}

function succeed(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  charge: Stripe.Charge,
): Stripe.PaymentIntent {
  const customer = customerId(pi);
  if (pi.setup_future_usage && customer && !pm.customer) attachPaymentMethod(ctx, pm, customer);
  ctx.emit('charge.succeeded', charge);
  const saved = save(ctx, {
    ...pi,
    status: 'succeeded',
    amount_received: pi.amount,
    latest_charge: charge.id,
    last_payment_error: null,
  });
  ctx.emit('payment_intent.succeeded', saved);
  notify(ctx, saved);
  return saved;
}

function failPayment(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  charge: Stripe.Charge,
): Stripe.PaymentIntent {
  const stored = ctx.store.collection<Stripe.Charge>(CHARGE);
  const savedCharge = stored.get(charge.id) ? stored.replace(charge) : stored.insert(charge);
  ctx.emit('charge.failed', savedCharge);
  const isCard = pm.type === 'card';
  const error: Stripe.PaymentIntent.LastPaymentError = {
    charge: charge.id,
    code: isCard ? 'card_declined' : (charge.failure_code ?? 'payment_method_provider_decline'),
    doc_url: `https://docs.stripe.com/error-codes/${(isCard ? 'card_declined' : (charge.failure_code ?? '')).replace(/_/g, '-')}`,
    message: charge.failure_message ?? 'The payment failed.',
    payment_method: pm,
    payment_method_type: pm.type,
    type: 'card_error',
  };
  if (isCard && charge.outcome?.reason) error.decline_code = charge.outcome.reason;
  const saved = save(ctx, {
    ...pi,
    status: 'requires_payment_method',
    payment_method: null,
    latest_charge: charge.id,
    last_payment_error: error,
  });
  ctx.emit('payment_intent.payment_failed', saved);
  notify(ctx, saved);
  return saved;
}

function submitSepa(
  ctx: EmulatorContext,
  pi: Stripe.PaymentIntent,
  pm: Stripe.PaymentMethod,
  behaviour: Extract<ChargeBehaviour, { kind: 'sepa_debit' }>,
): Stripe.PaymentIntent {
  const charge = ctx.store.collection<Stripe.Charge>(CHARGE).insert(buildCharge(ctx, pi, pm, 'pending'));
  const saved = save(ctx, { ...pi, status: 'processing', latest_charge: charge.id });
  ctx.emit('payment_intent.processing', saved);
  ctx.emit('charge.pending', charge);
  const delay = behaviour.delayed ? SEPA_DELAYED_SECONDS : SEPA_QUICK_SECONDS;
  ctx.schedule(ctx.now() + delay, SEPA_SETTLE_TASK, { payment_intent: pi.id, charge: charge.id });
  notify(ctx, saved);
  return saved;
}

/** Settles a processing SEPA debit: success (maybe followed by a chargeback) or a return. */
export function settleSepaDebit(ctx: EmulatorContext, piId: string, chargeId: string): void {
  const pi = ctx.store.collection<Stripe.PaymentIntent>(PAYMENT_INTENT).get(piId);
  const charge = ctx.store.collection<Stripe.Charge>(CHARGE).get(chargeId);
  if (!pi || !charge || pi.status !== 'processing' || charge.status !== 'pending') return;
  const pm = ctx.store.collection<Stripe.PaymentMethod>('payment_method').get(charge.payment_method!)!;
  const behaviour = chargeBehaviour(ctx, pm.id);
  if (behaviour.kind !== 'sepa_debit') return;
  if (behaviour.outcome === 'fail') {
    const code = behaviour.failureCode ?? 'generic_could_not_process';
    const message =
      code === 'insufficient_funds' ? FAILURE_MESSAGES.sepa_insufficient_funds! : FAILURE_MESSAGES[code]!;
    failPayment(ctx, pi, pm, {
      ...charge,
      status: 'failed',
      failure_code: code,
      failure_message: message,
      outcome: { ...declinedOutcome(code), advice_code: null, seller_message: message },
    });
    return;
  }
  const succeeded: Stripe.Charge = {
    ...charge,
    status: 'succeeded',
    paid: true,
    captured: true,
    amount_captured: charge.amount,
    outcome: APPROVED_OUTCOME,
  };
  succeeded.balance_transaction = chargeFunds(ctx, succeeded).id;
  const savedCharge = ctx.store.collection<Stripe.Charge>(CHARGE).replace(succeeded);
  succeed(ctx, pi, pm, savedCharge);
  if (behaviour.outcome === 'dispute') createSepaDispute(ctx, savedCharge);
}
