import { z } from 'zod';

const addressObject = z.strictObject({
  line1: z.string().trim().min(1).max(200),
  line2: z.string().trim().max(200).optional(),
  postalCode: z.string().trim().min(1).max(20).optional(),
  city: z.string().trim().min(1).max(100).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2, e.g. DE')
    .default('DE'),
});

/** POST /api/payments/customers */
export const createBuyerBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    email: z.email().max(254),
    phone: z.string().trim().min(3).max(40).optional(),
    address: z.union([z.string().trim().min(1).max(300), addressObject]),
    buyerId: z.string().trim().min(1).max(100).describe('The dealer platform’s own buyer id.'),
    vehicleId: z.string().trim().min(1).max(100),
    dealerId: z.string().min(1).optional().describe('Implied by a dealer key; required with the admin key.'),
    type: z.enum(['consumer', 'business']).default('consumer'),
    vatId: z
      .string()
      .regex(/^[A-Z]{2}[A-Z0-9]{2,12}$/, 'a VAT id such as DE123456789')
      .optional(),
  })
  .meta({
    examples: [
      {
        name: 'Jürgen Weber',
        email: 'juergen.weber@example.de',
        phone: '+49 951 1234567',
        address: { line1: 'Hauptstraße 12', postalCode: '96114', city: 'Hirschaid', country: 'DE' },
        buyerId: 'K-2026-0147',
        vehicleId: 'FZG-2026-0815',
        type: 'consumer',
      },
    ],
  });
export type CreateBuyerInput = z.infer<typeof createBuyerBody>;

/** The example buyer of the API documentation. */
export const buyerExample = {
  id: 'byr_Zk3pQ8xL2mVt9wRa',
  dealerId: 'dlr_4f1cTq7LmN2xV8bK',
  buyerId: 'K-2026-0147',
  vehicleId: 'FZG-2026-0815',
  type: 'consumer',
  name: 'Jürgen Weber',
  email: 'juergen.weber@example.de',
  phone: '+49 951 1234567',
  address: { line1: 'Hauptstraße 12', postalCode: '96114', city: 'Hirschaid', country: 'DE' },
  vatId: null,
  stripeCustomerId: 'cus_QxR8mT2pLk5vNa',
  unappliedTransfer: 0,
  deleted: false,
  createdAt: '2026-03-02T09:14:27.000Z',
};

/** A buyer as the API shows it. */
export const buyerView = z
  .object({
    id: z.string(),
    dealerId: z.string(),
    buyerId: z.string(),
    vehicleId: z.string(),
    type: z.enum(['consumer', 'business']),
    name: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    address: z.object({
      line1: z.string(),
      line2: z.string().optional(),
      postalCode: z.string().optional(),
      city: z.string().optional(),
      country: z.string(),
    }),
    vatId: z.string().nullable(),
    stripeCustomerId: z.string().nullable(),
    unappliedTransfer: z
      .number()
      .int()
      .describe(
        'Cents the buyer sent by bank transfer that Stripe matched to no invoice (less than the open invoice, or an unknown reference). Dunning holds this buyer’s letters for 14 days after it arrived; match the money to an invoice or return it in Stripe.',
      ),
    deleted: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ examples: [buyerExample] });
export type BuyerView = z.infer<typeof buyerView>;
