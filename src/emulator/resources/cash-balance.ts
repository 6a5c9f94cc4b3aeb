/**
 * Customer cash balance and EU bank transfers: a virtual IBAN per customer (funding instructions),
 * the test helper `fund_cash_balance`, cash balance transactions, and automatic reconciliation
 * against open invoices payable by `customer_balance`.
 *
 * Reconciliation (Stripe, automatic mode): an invoice is never partially funded — it stays open
 * until the balance covers its full amount_remaining; a transfer whose reference is an open
 * invoice's number goes to that invoice first, then the oldest open invoices are paid while the
 * balance covers them; what is left stays in the cash balance.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import {
  bookBalanceTransaction,
  INVOICE,
  type Invoice,
  markInvoicePaid,
  requireInvoice,
} from './billing-internal.ts';
import { requireLive } from './shared.ts';

const BALANCE = 'billing_cash_balance';
const TXN = 'customer_cash_balance_transaction';

interface StoredBalance {
  id: string;
  available: Record<string, number>;
  reconciliation_mode: 'automatic' | 'manual';
  using_merchant_default: boolean;
}

type CashTxn = Stripe.CustomerCashBalanceTransaction;

function balanceOf(ctx: EmulatorContext, customer: string): StoredBalance {
  return (
    ctx.store.collection<StoredBalance>(BALANCE).get(customer) ?? {
      id: customer,
      available: {},
      reconciliation_mode: 'automatic',
      using_merchant_default: true,
    }
  );
}

function saveBalance(ctx: EmulatorContext, b: StoredBalance): void {
  const c = ctx.store.collection<StoredBalance>(BALANCE);
  if (c.get(b.id)) c.replace(b);
  else c.insert(b);
}

function render(b: StoredBalance): Stripe.CashBalance {
  return {
    object: 'cash_balance',
    available: Object.keys(b.available).length ? b.available : null,
    customer: b.id,
    customer_account: null,
    livemode: false,
    settings: {
      reconciliation_mode: b.reconciliation_mode,
      using_merchant_default: b.using_merchant_default,
    },
  } satisfies Stripe.CashBalance;
}

/** ISO 13616 check digits. */
function ibanFor(country: string, bban: string): string {
  const rearranged = `${bban}${country}00`.replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
  let rem = 0;
  for (const digit of rearranged) rem = (rem * 10 + Number(digit)) % 97;
  return `${country}${String(98 - rem).padStart(2, '0')}${bban}`;
}

/** The customer's virtual account: stable per customer, a valid German IBAN. */
export function virtualIban(customerId: string): { iban: string; bic: string } {
  const digits = BigInt(`0x${createHash('sha256').update(customerId).digest('hex').slice(0, 15)}`)
    .toString()
    .padStart(10, '0')
    .slice(-10);
  return { iban: ibanFor('DE', `10010010${digits}`), bic: 'PBNKDEFFXXX' };
}

const BANK_ADDRESS: Stripe.Address = {
  city: 'Berlin',
  country: 'DE',
  line1: 'Emulatorstraße 1',
  line2: null,
  postal_code: '10115',
  state: null,
};

/** Funding instructions as `createFundingInstructions` answers them. */
export function fundingInstructions(customerId: string, country = 'DE'): Stripe.FundingInstructions {
  const { iban, bic } = virtualIban(customerId);
  return {
    object: 'funding_instructions',
    bank_transfer: {
      country,
      financial_addresses: [
        {
          type: 'iban',
          iban: {
            account_holder_address: BANK_ADDRESS,
            account_holder_name: 'Stripe Emulator',
            bank_address: BANK_ADDRESS,
            bic,
            country: 'DE',
            iban,
          },
          supported_networks: ['sepa'],
        },
      ],
      type: 'eu_bank_transfer',
    },
    currency: 'eur',
    funding_type: 'bank_transfer',
    livemode: false,
  } satisfies Stripe.FundingInstructions;
}

function recordTxn(
  ctx: EmulatorContext,
  customer: string,
  currency: string,
  net: number,
  endingBalance: number,
  detail: Partial<CashTxn> & { type: CashTxn['type'] },
): CashTxn {
  const txn: CashTxn = {
    id: ctx.newId('ccsbtxn', 24),
    object: 'customer_cash_balance_transaction',
    created: ctx.now(),
    currency,
    customer,
    customer_account: null,
    ending_balance: endingBalance,
    livemode: false,
    net_amount: net,
    ...detail,
  } satisfies CashTxn;
  const saved = ctx.store.collection<CashTxn>(TXN).insert(txn);
  ctx.emit('customer_cash_balance_transaction.created', saved);
  return saved;
}

function acceptsCashBalance(inv: Invoice): boolean {
  return (
    inv.status === 'open' && inv.payment_settings.payment_method_types?.includes('customer_balance') === true
  );
}

/** Pays one invoice from the cash balance when it covers the whole remaining amount. */
function applyToInvoice(ctx: EmulatorContext, inv: Invoice): Invoice | null {
  const b = balanceOf(ctx, inv.customer as string);
  const available = b.available[inv.currency] ?? 0;
  const amount = inv.amount_remaining;
  if (amount <= 0 || available < amount) return null;
  b.available[inv.currency] = available - amount;
  saveBalance(ctx, b);
  // Stripe names the PaymentIntent behind the invoice here; the emulator pays cash-balance invoices
  // without one, so the detail hash is left out.
  recordTxn(ctx, b.id, inv.currency, -amount, available - amount, { type: 'applied_to_payment' });
  bookBalanceTransaction(ctx, amount, inv.id, `Invoice ${inv.number ?? inv.id} (bank transfer)`);
  return markInvoicePaid(ctx, inv.id, null, { fromCashBalance: true });
}

/** `invoices.pay` without a payment method on a customer_balance invoice: uses the cash balance. */
export function payFromCashBalance(ctx: EmulatorContext, invoiceId: string): Invoice | null {
  const inv = requireInvoice(ctx, invoiceId);
  if (!acceptsCashBalance(inv)) return null;
  return applyToInvoice(ctx, inv);
}

/** Automatic reconciliation: the referenced invoice first, then oldest first. */
function reconcile(ctx: EmulatorContext, customer: string, reference: string | null): void {
  if (balanceOf(ctx, customer).reconciliation_mode !== 'automatic') return;
  const open = ctx.store
    .collection<Invoice>(INVOICE)
    .list((i) => i.customer === customer && acceptsCashBalance(i))
    .sort(
      (a, b) =>
        (a.status_transitions.finalized_at ?? a.created) - (b.status_transitions.finalized_at ?? b.created) ||
        a.created - b.created,
    );
  const referenced = reference ? open.filter((i) => i.number === reference) : [];
  for (const inv of [...referenced, ...open.filter((i) => !referenced.includes(i))]) applyToInvoice(ctx, inv);
}

export const cashBalance: ResourceModule = {
  name: 'cash_balance',
  objects: [{ prefix: 'ccsbtxn_', collection: TXN }],
  routes: [
    route({
      method: 'GET',
      path: '/v1/customers/:id/cash_balance',
      params: {},
      handler(ctx) {
        requireLive(ctx, 'customer', ctx.path.id!, 'customer');
        return render(balanceOf(ctx, ctx.path.id!));
      },
    }),
    route({
      method: 'POST',
      path: '/v1/customers/:id/cash_balance',
      params: {
        settings: p.object({ reconciliation_mode: p.enum(['automatic', 'manual', 'merchant_default']) }),
      },
      handler(ctx) {
        requireLive(ctx, 'customer', ctx.path.id!, 'customer');
        const b = balanceOf(ctx, ctx.path.id!);
        const mode = ctx.params.settings?.reconciliation_mode;
        if (mode !== undefined) {
          b.reconciliation_mode = mode === 'merchant_default' ? 'automatic' : mode;
          b.using_merchant_default = mode === 'merchant_default';
        }
        saveBalance(ctx, b);
        return render(b);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/:id/cash_balance_transactions',
      params: listFields,
      handler(ctx) {
        requireLive(ctx, 'customer', ctx.path.id!, 'customer');
        const items = ctx.store.collection<CashTxn>(TXN).list((t) => t.customer === ctx.path.id);
        return paginate(ctx, TXN, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/customers/:id/cash_balance_transactions/:txn',
      params: {},
      handler(ctx) {
        const txn = ctx.store.collection<CashTxn>(TXN).get(ctx.path.txn!);
        if (!txn || txn.customer !== ctx.path.id)
          throw errors.resourceMissing('customer_cash_balance_transaction', ctx.path.txn!);
        return txn;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/customers/:id/funding_instructions',
      params: {
        bank_transfer: p
          .object({
            eu_bank_transfer: p.object({ country: p.enum(['BE', 'DE', 'ES', 'FR', 'IE', 'NL']).required() }),
            requested_address_types: p.array(p.enum(['iban', 'sort_code', 'spei', 'zengin'])),
            type: p
              .enum([
                'eu_bank_transfer',
                'gb_bank_transfer',
                'jp_bank_transfer',
                'mx_bank_transfer',
                'us_bank_transfer',
              ])
              .required(),
          })
          .required(),
        currency: p.string().required(),
        funding_type: p.enum(['bank_transfer']).required(),
      },
      handler(ctx) {
        requireLive(ctx, 'customer', ctx.path.id!, 'customer');
        const q = ctx.params;
        if (q.bank_transfer.type !== 'eu_bank_transfer' || q.currency.toLowerCase() !== 'eur') {
          throw errors.invalidParam(
            'bank_transfer[type]',
            'The emulator supports EU bank transfers in EUR only (bank_transfer[type]=eu_bank_transfer, currency=eur).',
          );
        }
        if (!q.bank_transfer.eu_bank_transfer)
          throw errors.parameterMissing('bank_transfer[eu_bank_transfer]');
        return fundingInstructions(ctx.path.id!, q.bank_transfer.eu_bank_transfer.country);
      },
    }),
    route({
      method: 'POST',
      path: '/v1/test_helpers/customers/:id/fund_cash_balance',
      params: {
        amount: p.integer({ min: 1 }).required(),
        currency: p.string().required(),
        reference: p.string(),
      },
      handler(ctx) {
        const customer = requireLive<Stripe.Customer>(ctx, 'customer', ctx.path.id!, 'customer');
        const currency = ctx.params.currency.toLowerCase();
        if (currency !== 'eur') {
          throw errors.invalidParam('currency', 'The emulator funds cash balances in EUR only.');
        }
        const b = balanceOf(ctx, customer.id);
        const ending = (b.available[currency] ?? 0) + ctx.params.amount;
        b.available[currency] = ending;
        saveBalance(ctx, b);
        const { iban } = virtualIban(customer.id);
        const txn = recordTxn(ctx, customer.id, currency, ctx.params.amount, ending, {
          type: 'funded',
          funded: {
            bank_transfer: {
              type: 'eu_bank_transfer',
              reference: ctx.params.reference ?? null,
              eu_bank_transfer: {
                bic: 'COBADEFFXXX',
                iban_last4: iban.slice(-4),
                sender_name: customer.name ?? null,
              },
            },
          },
        });
        reconcile(ctx, customer.id, ctx.params.reference ?? null);
        // As Stripe: after reconciliation, and only when money is left over that no invoice took.
        const after = balanceOf(ctx, customer.id);
        if ((after.available[currency] ?? 0) > 0) {
          ctx.emit('cash_balance.funds_available', render(after) as unknown as { id: string });
        }
        return txn;
      },
    }),
  ],
};
