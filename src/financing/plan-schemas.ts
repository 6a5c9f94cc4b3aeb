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
export const createPlanBody = z.strictObject({
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
});
export type CreatePlanInput = z.infer<typeof createPlanBody>;

const money = z.number().int();

/** The quote as the API shows it (calculateQuote's result). */
export const quoteView = z.object({
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
});

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
  createdAt: z.string(),
});
export type PlanView = z.infer<typeof planView>;

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

/** GET /api/payments/subscriptions */
export const planListQuery = listQuery.extend({
  customerId: z.string().min(1).max(100).optional(),
  status: z.enum(PLAN_STATUSES).optional(),
});

/** POST /api/payments/subscriptions/:id/cancel */
export const cancelPlanBody = z.strictObject({
  reason: z.string().trim().min(1).max(500),
});
