/**
 * The registry of resources. Adding a resource = one new file in this folder plus one line here.
 */
import type { ResourceModule } from '../resource.ts';
import { balance } from './balance.ts';
import { cashBalance } from './cash-balance.ts';
import { charges } from './charges.ts';
import { checkoutPage } from './checkout-page.ts';
import { checkoutSessions } from './checkout-sessions.ts';
import { customers } from './customers.ts';
import { disputes } from './disputes.ts';
import { events } from './events.ts';
import { hostedInvoice } from './hosted-invoice.ts';
import { invoiceItems } from './invoice-items.ts';
import { invoices } from './invoices.ts';
import { paymentIntents } from './payment-intents.ts';
import { paymentLinks } from './payment-links.ts';
import { paymentMethods } from './payment-methods.ts';
import { prices } from './prices.ts';
import { products } from './products.ts';
import { refunds } from './refunds.ts';
import { setupIntents } from './setup-intents.ts';
import { subscriptionSchedules } from './subscription-schedules.ts';
import { subscriptions } from './subscriptions.ts';
import { testClocks } from './test-clocks.ts';
import { webhookEndpointsResource } from './webhook-endpoints.ts';

/** What resources may depend on from the emulator's options. */
export interface ResourceConfig {
  /** The fixed `whsec_` secret for every webhook endpoint, if configured. */
  webhookSigningSecret: string | undefined;
}

/** All built-in resources. */
export function builtInResources(config: ResourceConfig): ResourceModule[] {
  return [
    customers,
    products,
    prices,
    events,
    webhookEndpointsResource(() => config.webhookSigningSecret),
    paymentMethods,
    paymentIntents,
    charges,
    refunds,
    disputes,
    balance,
    paymentLinks,
    checkoutSessions,
    checkoutPage,
    setupIntents,
    invoices,
    invoiceItems,
    cashBalance,
    hostedInvoice,
    subscriptions,
    subscriptionSchedules,
    testClocks,
  ];
}
