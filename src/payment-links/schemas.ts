import { z } from 'zod';

/** POST /api/payments/payment-links */
export const createPaymentLinkBody = z.strictObject({
  amount: z
    .number()
    .int('integer cents')
    .min(50, 'at least 50 cents')
    .max(99_999_999, 'above Stripe’s maximum'),
  vehicleModel: z.string().trim().min(1).max(100).describe('e.g. "Palace 90G"'),
  vehicleId: z.string().trim().min(1).max(100),
  buyerEmail: z.email().max(254),
  customerId: z.string().min(1).optional().describe('The buyer (byr_…), if already created.'),
  kind: z.enum(['down_payment', 'remainder', 'other']).default('down_payment'),
  dealerId: z.string().min(1).optional().describe('Implied by a dealer key; required with the admin key.'),
});
export type CreatePaymentLinkInput = z.infer<typeof createPaymentLinkBody>;

/** A payment link as the API shows it. */
export const paymentLinkView = z.object({
  id: z.string(),
  url: z.string().nullable(),
  status: z.enum(['creating', 'active', 'processing', 'paid', 'failed', 'deactivated']),
  amount: z.number().int(),
  kind: z.string(),
  vehicleId: z.string(),
  vehicleModel: z.string(),
  buyerEmail: z.string(),
  customerId: z.string().nullable(),
  stripePaymentLinkId: z.string().nullable(),
  createdAt: z.string(),
});
export type PaymentLinkView = z.infer<typeof paymentLinkView>;
