import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { tags } from '../platform/tenancy.ts';
import { vehicleAccount } from './vehicle.ts';

const money = z.number().int();
const vehicleView = z
  .object({
    vehicleId: z.string(),
    dealerId: z.string(),
    totalAgreed: money,
    paid: z.object({ settled: money, processing: money, reclaimable: money, reversed: money, net: money }),
    open: money,
    unappliedTransfer: money.describe(
      'Bank-transfer money of the buyer Stripe matched to no invoice yet: received, still counted in `open`.',
    ),
    overdue: money,
    nextDue: z
      .object({
        date: z.string(),
        amount: money,
        invoiceId: z.string().nullable(),
        planId: z.string().nullable(),
      })
      .nullable(),
    plans: z.array(
      z.object({
        id: z.string(),
        status: z.string(),
        endReason: z
          .string()
          .nullable()
          .describe('As on the plan: `payment_failed` = Stripe gave up, the loan is still owed.'),
        monthlyRate: money,
        durationMonths: z.number().int(),
        contractTotal: money,
      }),
    ),
    invoices: z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        number: z.string().nullable(),
        status: z.string(),
        amount: money,
        amountRemaining: money,
        dueDate: z.string().nullable(),
        paymentProcessing: z.boolean(),
      }),
    ),
    history: z.array(
      z.object({
        kind: z.string(),
        amount: money,
        settlement: z.string(),
        effect: z.string(),
        reasonCode: z.string().nullable(),
        sourceId: z.string(),
        occurredAt: z.string(),
      }),
    ),
  })
  .meta({
    examples: [
      {
        vehicleId: 'FZG-2026-0815',
        dealerId: 'dlr_4f1cTq7LmN2xV8bK',
        totalAgreed: 8200000,
        paid: { settled: 3450000, processing: 950000, reclaimable: 950000, reversed: 0, net: 3450000 },
        open: 0,
        unappliedTransfer: 0,
        overdue: 0,
        nextDue: { date: '2026-06-01', amount: 950000, invoiceId: null, planId: 'fin_Hc4mW9tQ2zLr7nXe' },
        plans: [
          {
            id: 'fin_Hc4mW9tQ2zLr7nXe',
            status: 'active',
            endReason: null,
            monthlyRate: 950000,
            durationMonths: 6,
            contractTotal: 5700000,
          },
        ],
        invoices: [
          {
            id: 'inv_8sKd2LqP0vXz4MwT',
            kind: 'down_payment',
            number: 'MOR-2026-0042',
            status: 'paid',
            amount: 2500000,
            amountRemaining: 0,
            dueDate: '2026-03-16',
            paymentProcessing: false,
          },
          {
            id: 'inv_Qm2xT8vLk4pR9sNa',
            kind: 'instalment',
            number: 'MOR-2026-0061',
            status: 'paid',
            amount: 950000,
            amountRemaining: 0,
            dueDate: '2026-04-01',
            paymentProcessing: false,
          },
          {
            id: 'inv_Wn5yU1rJd7kT3qLb',
            kind: 'instalment',
            number: 'MOR-2026-0078',
            status: 'open',
            amount: 950000,
            amountRemaining: 950000,
            dueDate: '2026-05-01',
            paymentProcessing: true,
          },
        ],
        history: [
          {
            kind: 'down_payment',
            amount: 2500000,
            settlement: 'settled',
            effect: 'payment',
            reasonCode: null,
            sourceId: 'pi_3QxS9fT2pLk5vNaH',
            occurredAt: '2026-03-05T10:41:12.000Z',
          },
          {
            kind: 'instalment',
            amount: 950000,
            settlement: 'settled',
            effect: 'payment',
            reasonCode: null,
            sourceId: 'pi_3QzB7dT2pLk5vNaJ',
            occurredAt: '2026-04-06T04:00:00.000Z',
          },
          {
            kind: 'instalment',
            amount: 950000,
            settlement: 'processing',
            effect: 'payment',
            reasonCode: null,
            sourceId: 'pi_3R0C8eT2pLk5vNaK',
            occurredAt: '2026-05-01T04:00:00.000Z',
          },
        ],
      },
    ],
  });

/** GET /api/payments/vehicles/:vehicleId — the deal's money before the motorhome is handed over. */
export async function vehicleRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/payments/vehicles/:vehicleId',
    {
      schema: {
        tags: ['ledger'],
        summary:
          'Agreed, paid (settled / processing), open, overdue, next due and history of one vehicle deal',
        description:
          'SEPA money counts as settled only once the debit has succeeded; until then it is "processing". A dealer key sees its own vehicles; the admin passes ?dealerId=.',
        params: z.object({ vehicleId: z.string().min(1).max(100) }),
        querystring: z.object({ dealerId: z.string().min(1).optional() }),
        response: { 200: vehicleView },
      },
    },
    async (request, reply) => {
      const dealerId = request.scope.kind === 'dealer' ? request.scope.dealerId : request.query.dealerId;
      return cachedRead(deps.cache, reply, {
        key: ['vehicles', dealerId ?? '-', request.params.vehicleId],
        ttlMs: TTL.oneMinute,
        tags: [tags.vehicle(dealerId ?? '-', request.params.vehicleId)],
        load: () => vehicleAccount(deps, request.scope, request.params.vehicleId, request.query.dealerId),
      });
    },
  );
}
