import { z } from 'zod';

/** POST /api/payments/payment-links */
export const createPaymentLinkBody = z
  .strictObject({
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
  })
  .meta({
    examples: [
      {
        amount: 500000,
        vehicleModel: 'Palace 90G',
        vehicleId: 'FZG-2026-0815',
        buyerEmail: 'juergen.weber@example.de',
        customerId: 'byr_Zk3pQ8xL2mVt9wRa',
        kind: 'down_payment',
      },
    ],
  });
export type CreatePaymentLinkInput = z.infer<typeof createPaymentLinkBody>;

/** A payment link as the API shows it. */
export const paymentLinkView = z
  .object({
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
  })
  .meta({
    examples: [
      {
        id: 'lnk_Vb7nR2kQ9xLp3sWd',
        url: 'https://buy.stripe.com/test_6oE8wR2kQ9xLp3s',
        status: 'active',
        amount: 500000,
        kind: 'down_payment',
        vehicleId: 'FZG-2026-0815',
        vehicleModel: 'Palace 90G',
        buyerEmail: 'juergen.weber@example.de',
        customerId: 'byr_Zk3pQ8xL2mVt9wRa',
        stripePaymentLinkId: 'plink_1QxS2vT2pLk5vNaC',
        createdAt: '2026-03-02T09:25:41.000Z',
      },
    ],
  });
export type PaymentLinkView = z.infer<typeof paymentLinkView>;
