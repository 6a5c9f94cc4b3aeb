import { z } from 'zod';
import { type BusinessDate, isBusinessDate } from '../platform/dates.ts';
import { listQuery } from '../platform/pagination.ts';
import { MAX_TERM_MONTHS } from './quote.ts';
import { quoteInputSchema } from './quote-schema.ts';
import { PLAN_STATUSES } from './schema.ts';

const businessDate = z
  .string()
  .refine(isBusinessDate, 'must be a calendar day, YYYY-MM-DD')
  .transform((value) => value as BusinessDate);

/** How instalments may be collected; SEPA Direct Debit only up to the debit limit. */
export const PLAN_PAYMENT_METHOD_TYPES = ['sepa_debit', 'card'] as const;

/** POST /api/payments/subscriptions: from a monthly rate, or from a quote (`financing`) instead. */
export const createPlanBody = z
  .strictObject({
    customerId: z.string().min(1).max(100).describe('The buyer id (byr_…).'),
    vehicleId: z.string().trim().min(1).max(100),
    vehicleModel: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .describe('e.g. "Palace 90G": one Stripe Product per model.'),
    monthlyRate: z
      .number()
      .int('integer cents')
      .min(50, 'at least 50 cents')
      .max(100_000_000)
      .optional()
      .describe('Integer euro cents; leave out when `financing` is given.'),
    startDate: businessDate.describe('Due date of the first instalment (Berlin), today or later.'),
    durationMonths: z
      .number()
      .int()
      .min(1)
      .max(MAX_TERM_MONTHS)
      .optional()
      .describe('Number of monthly instalments; with `financing` it is termMonths.'),
    paymentMethodTypes: z
      .array(z.enum(PLAN_PAYMENT_METHOD_TYPES))
      .min(1)
      .max(2)
      .optional()
      .describe("Default ['sepa_debit', 'card'] (card only when an instalment exceeds 10.000,00 €)."),
    financing: quoteInputSchema
      .optional()
      .describe('A quote input instead of monthlyRate; the quote is stored and its schedule collected.'),
  })
  .meta({
    // `example`, not `examples`: zod leaves `examples` out of a transforming schema's input JSON schema.
    example: {
      customerId: 'byr_Zk3pQ8xL2mVt9wRa',
      vehicleId: 'FZG-2026-0815',
      vehicleModel: 'Palace 90G',
      monthlyRate: 950000,
      startDate: '2026-04-01',
      durationMonths: 6,
      paymentMethodTypes: ['sepa_debit', 'card'],
    },
  });
export type CreatePlanInput = z.infer<typeof createPlanBody>;

const money = z.number().int();

/** The quote of the example quote input (12 months, 5,99 %, Schlussrate 60.000,00 €), as calculateQuote gives it. */
export const quoteExample = {
  netLoanAmount: 10490000,
  financedAmount: 10490000,
  monthlyRate: 416368,
  finalPayment: 6416364,
  upfrontFees: 0,
  totalInterest: 506412,
  totalPayable: 10996412,
  effectiveRatePercent: 6.16,
  schedule: [
    { n: 1, dueDate: '2026-04-30', payment: 416368, interest: 52363, principal: 364005, balance: 10125995 },
    { n: 2, dueDate: '2026-05-30', payment: 416368, interest: 50546, principal: 365822, balance: 9760173 },
    { n: 3, dueDate: '2026-06-30', payment: 416368, interest: 48720, principal: 367648, balance: 9392525 },
    { n: 4, dueDate: '2026-07-30', payment: 416368, interest: 46884, principal: 369484, balance: 9023041 },
    { n: 5, dueDate: '2026-08-30', payment: 416368, interest: 45040, principal: 371328, balance: 8651713 },
    { n: 6, dueDate: '2026-09-30', payment: 416368, interest: 43186, principal: 373182, balance: 8278531 },
    { n: 7, dueDate: '2026-10-30', payment: 416368, interest: 41324, principal: 375044, balance: 7903487 },
    { n: 8, dueDate: '2026-11-30', payment: 416368, interest: 39452, principal: 376916, balance: 7526571 },
    { n: 9, dueDate: '2026-12-30', payment: 416368, interest: 37570, principal: 378798, balance: 7147773 },
    { n: 10, dueDate: '2027-01-30', payment: 416368, interest: 35679, principal: 380689, balance: 6767084 },
    { n: 11, dueDate: '2027-02-28', payment: 416368, interest: 33779, principal: 382589, balance: 6384495 },
    { n: 12, dueDate: '2027-03-30', payment: 6416364, interest: 31869, principal: 6384495, balance: 0 },
  ],
};

/** The quote as the API shows it (calculateQuote's result). */
export const quoteView = z
  .object({
    netLoanAmount: money,
    financedAmount: money,
    monthlyRate: money,
    finalPayment: money,
    upfrontFees: money,
    totalInterest: money,
    totalPayable: money,
    effectiveRatePercent: z.number(),
    schedule: z.array(
      z.object({
        n: z.number().int(),
        dueDate: z.string().nullable(),
        payment: money,
        interest: money,
        principal: money,
        balance: money,
      }),
    ),
  })
  .meta({ examples: [quoteExample] });

/** A plan as created and listed. */
export const planView = z.object({
  id: z.string(),
  customerId: z.string(),
  dealerId: z.string(),
  vehicleId: z.string(),
  vehicleModel: z.string(),
  monthlyRate: money,
  startDate: z.string(),
  durationMonths: z.number().int(),
  paymentMethodTypes: z.array(z.string()),
  status: z.enum(PLAN_STATUSES),
  setupUrl: z.string().optional(),
  stripeScheduleId: z.string().nullable(),
  stripeSubscriptionId: z.string().nullable(),
  balloon: z.object({ amount: money, dueDate: z.string(), invoiceId: z.string().nullable() }).nullable(),
  paidCount: z.number().int().describe('Payments paid, the balloon included.'),
  remainingCount: z.number().int().describe('Payments not paid yet, the balloon included.'),
  nextPaymentDate: z.string().nullable().describe('Due date of the next unpaid payment.'),
  quote: quoteView.optional(),
  cancelReason: z.string().nullable(),
  endReason: z
    .string()
    .nullable()
    .describe(
      'Why Stripe ended the subscription before its term (`ended_early`): `payment_failed` means Stripe gave up after failed retries — the loan is still owed and can be paid off or called (§ 498 BGB).',
    ),
  createdAt: z.string(),
});
export type PlanView = z.infer<typeof planView>;

/** The example plan (6 × 9.500,00 € from 1 April 2026), just created: the buyer still has to give a mandate. */
const planBaseExample = {
  id: 'fin_Hc4mW9tQ2zLr7nXe',
  customerId: 'byr_Zk3pQ8xL2mVt9wRa',
  dealerId: 'dlr_4f1cTq7LmN2xV8bK',
  vehicleId: 'FZG-2026-0815',
  vehicleModel: 'Palace 90G',
  monthlyRate: 950000,
  startDate: '2026-04-01',
  durationMonths: 6,
  paymentMethodTypes: ['sepa_debit', 'card'],
  stripeScheduleId: null,
  stripeSubscriptionId: null,
  balloon: null,
  paidCount: 0,
  remainingCount: 6,
  nextPaymentDate: '2026-04-01',
  cancelReason: null,
  endReason: null,
  createdAt: '2026-03-02T10:02:11.000Z',
};
export const planExample = {
  ...planBaseExample,
  status: 'awaiting_payment_method' as const,
  setupUrl: 'https://checkout.stripe.com/c/pay/cs_test_a1Hc4mW9tQ2zLr7nXe',
};

/** Where one payment of the plan stands. */
export const PAYMENT_STATUSES = ['upcoming', 'open', 'processing', 'failed', 'paid', 'void'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** A plan with its schedule, arrears, payoff and § 498 check. */
export const planDetailView = planView.extend({
  schedule: z.array(
    z.object({
      n: z.number().int(),
      kind: z.enum(['instalment', 'balloon']),
      dueDate: z.string(),
      amount: money,
      interest: money,
      principal: money,
      status: z.enum(PAYMENT_STATUSES),
      invoiceId: z.string().nullable(),
      stripeInvoiceId: z.string().nullable(),
    }),
  ),
  arrears: z.object({
    amount: money.describe('Unpaid amount of payments due before today.'),
    count: z.number().int(),
    consecutiveMissed: z.number().int(),
  }),
  payoff: z
    .object({ asOf: z.string(), remainingPrincipal: money, overdueInterest: money, total: money })
    .nullable()
    .describe('What ending the plan today would cost (no interest for the days since the last due date).'),
  payoffInvoiceId: z.string().nullable(),
  termination: z
    .object({
      allowed: z.boolean(),
      reasons: z.array(z.string()),
      consecutiveMissed: z.number().int(),
      arrears: money,
      thresholdPercent: z.number(),
      threshold: money,
      warningDeadline: z.string().optional(),
      canSendWarning: z.boolean(),
    })
    .describe('§ 498 BGB: may the whole loan be called (no warning known here; dunning passes its own).'),
});
export type PlanDetailView = z.infer<typeof planDetailView>;

const instalmentExample = (
  n: number,
  dueDate: string,
  status: PaymentStatus,
  invoice?: [string, string],
) => ({
  n,
  kind: 'instalment' as const,
  dueDate,
  amount: 950000,
  interest: 0,
  principal: 950000,
  status,
  invoiceId: invoice?.[0] ?? null,
  stripeInvoiceId: invoice?.[1] ?? null,
});

/** The example plan on 20 April 2026: the first instalment paid by SEPA debit, the second invoiced. */
export const planDetailExample = {
  ...planBaseExample,
  status: 'active' as const,
  stripeScheduleId: 'sub_sched_1QyA4bT2pLk5vNaD',
  stripeSubscriptionId: 'sub_1QyA4cT2pLk5vNaE',
  paidCount: 1,
  remainingCount: 5,
  nextPaymentDate: '2026-05-01',
  schedule: [
    instalmentExample(1, '2026-04-01', 'paid', ['inv_Qm2xT8vLk4pR9sNa', 'in_1QzB7dT2pLk5vNaF']),
    instalmentExample(2, '2026-05-01', 'open', ['inv_Wn5yU1rJd7kT3qLb', 'in_1R0C8eT2pLk5vNaG']),
    instalmentExample(3, '2026-06-01', 'upcoming'),
    instalmentExample(4, '2026-07-01', 'upcoming'),
    instalmentExample(5, '2026-08-01', 'upcoming'),
    instalmentExample(6, '2026-09-01', 'upcoming'),
  ],
  arrears: { amount: 0, count: 0, consecutiveMissed: 0 },
  payoff: { asOf: '2026-04-20', remainingPrincipal: 4750000, overdueInterest: 0, total: 4750000 },
  payoffInvoiceId: null,
  termination: {
    allowed: false,
    reasons: [
      '0 consecutive instalment(s) in arrears; at least 2 are needed',
      'arrears of 0 cents are below 570000 cents (10 % of the nominal amount)',
      'no warning with a two-week deadline has been sent',
    ],
    consecutiveMissed: 0,
    arrears: 0,
    thresholdPercent: 10,
    threshold: 570000,
    canSendWarning: false,
  },
};

/** GET /api/payments/subscriptions */
export const planListQuery = listQuery.extend({
  customerId: z.string().min(1).max(100).optional(),
  status: z.enum(PLAN_STATUSES).optional(),
});

/** POST /api/payments/subscriptions/:id/cancel */
export const cancelPlanBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500),
  })
  .meta({ examples: [{ reason: 'Käufer hat vom Kaufvertrag zurückgetreten (Rücktritt vom 18.04.2026).' }] });
