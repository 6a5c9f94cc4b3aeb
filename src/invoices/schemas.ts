import { z } from 'zod';
import { INVOICE_KINDS } from './schema.ts';

/** POST /api/payments/invoices */
export const createInvoiceBody = z
  .strictObject({
    customerId: z.string().min(1).describe('The buyer id (byr_…).'),
    vehicleId: z.string().trim().min(1).max(100),
    kind: z.enum(['down_payment', 'remainder', 'other']),
    amount: z
      .number()
      .int('integer cents')
      .min(50, 'at least 50 cents')
      .max(99_999_999, 'at most 999.999,99 € (Stripe’s limit)')
      .describe('Integer euro cents.'),
    description: z.string().trim().min(1).max(500),
    daysUntilDue: z.number().int().min(1).max(90).default(14),
  })
  .meta({
    examples: [
      {
        customerId: 'byr_Zk3pQ8xL2mVt9wRa',
        vehicleId: 'FZG-2026-0815',
        kind: 'down_payment',
        amount: 2500000,
        description: 'Anzahlung MORELO Palace 90G, Fahrgestell-Nr. ZFA25000002K81547',
        daysUntilDue: 14,
      },
    ],
  });
export type CreateInvoiceInput = z.infer<typeof createInvoiceBody>;

/** An invoice as the API shows it. */
export const invoiceView = z
  .object({
    id: z.string(),
    customerId: z.string(),
    vehicleId: z.string(),
    kind: z.enum(INVOICE_KINDS),
    description: z.string(),
    number: z.string().nullable(),
    status: z.enum(['creating', 'draft', 'open', 'paid', 'void', 'uncollectible']),
    amountDue: z.number(),
    amountPaid: z.number(),
    amountRemaining: z.number(),
    paymentProcessing: z.boolean(),
    dueDate: z.string().nullable(),
    hostedInvoiceUrl: z.string().nullable(),
    paymentMethodTypes: z.array(z.string()),
    stripeInvoiceId: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({
    examples: [
      {
        id: 'inv_8sKd2LqP0vXz4MwT',
        customerId: 'byr_Zk3pQ8xL2mVt9wRa',
        vehicleId: 'FZG-2026-0815',
        kind: 'down_payment',
        description: 'Anzahlung MORELO Palace 90G, Fahrgestell-Nr. ZFA25000002K81547',
        number: 'MOR-2026-0042',
        status: 'open',
        amountDue: 2500000,
        amountPaid: 0,
        amountRemaining: 2500000,
        paymentProcessing: false,
        dueDate: '2026-03-16',
        hostedInvoiceUrl: 'https://invoice.stripe.com/i/acct_1Mor3lo/test_YWNjdF8xTW9y',
        paymentMethodTypes: ['customer_balance', 'card'],
        stripeInvoiceId: 'in_1QxR8mT2pLk5vNaB',
        createdAt: '2026-03-02T09:20:03.000Z',
      },
    ],
  });
export type InvoiceView = z.infer<typeof invoiceView>;
