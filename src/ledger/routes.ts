import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { tags } from '../platform/tenancy.ts';
import { vehicleAccount } from './vehicle.ts';

const money = z.number().int();
const vehicleView = z.object({
  vehicleId: z.string(),
  dealerId: z.string(),
  totalAgreed: money,
  paid: z.object({ settled: money, processing: money, reclaimable: money, reversed: money, net: money }),
  open: money,
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
        tags: [tags.object('vehicles', `${dealerId}:${request.params.vehicleId}`)],
        load: () => vehicleAccount(deps, request.scope, request.params.vehicleId, request.query.dealerId),
      });
    },
  );
}
