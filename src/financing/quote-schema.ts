/**
 * Request schema for a financing quote. It checks shape and per-field ranges (and documents them in
 * OpenAPI); rules that need several fields at once (balloon < financed amount, down payment < price,
 * instalments that amortise) live in calculateQuote, which throws QuoteInputError with the field.
 */
import { z } from 'zod';
import { type BusinessDate, isBusinessDate } from '../platform/dates.ts';
import type { Cents } from '../platform/money.ts';
import { MAX_NOMINAL_RATE_PERCENT, MAX_TERM_MONTHS } from './quote.ts';

const amountInCents = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(Number.MAX_SAFE_INTEGER)
    .transform((value) => value as Cents);

/** Body of a quote request; parses to a QuoteInput. */
export const quoteInputSchema = z
  .strictObject({
    vehiclePrice: amountInCents(1).describe('Vehicle price in cents'),
    downPayment: amountInCents(0).describe('Anzahlung in cents'),
    termMonths: z.number().int().min(1).max(MAX_TERM_MONTHS).describe('Laufzeit in months'),
    nominalRatePercent: z
      .number()
      .min(0)
      .max(MAX_NOMINAL_RATE_PERCENT)
      .describe('Sollzins per year, e.g. 5.99'),
    balloon: amountInCents(0).optional().describe('Schlussrate in cents; 0 or absent for none'),
    balloonMode: z.enum(['separate', 'last_instalment']),
    fees: z
      .array(
        z.strictObject({
          amount: amountInCents(0),
          financed: z.boolean().describe('true: added to the loan; false: paid at signing'),
          label: z.string().max(200).optional(),
        }),
      )
      .max(20)
      .optional(),
    paymentTiming: z
      .enum(['end', 'start'])
      .describe('Instalments at month end (nachschüssig) or start (vorschüssig)'),
    firstPaymentDate: z
      .string()
      .refine(isBusinessDate, 'must be a calendar day, YYYY-MM-DD')
      .transform((value) => value as BusinessDate)
      .optional(),
  })
  .meta({
    // `example`, not `examples`: zod leaves `examples` out of a transforming schema's input JSON schema.
    example: {
      vehiclePrice: 12990000,
      downPayment: 2500000,
      termMonths: 12,
      nominalRatePercent: 5.99,
      balloon: 6000000,
      balloonMode: 'separate',
      paymentTiming: 'end',
      firstPaymentDate: '2026-04-30',
    },
  });
