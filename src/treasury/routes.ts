import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scopeKey } from '../auth/plugin.ts';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { listQuery, pageSchema } from '../platform/pagination.ts';
import { TREASURY_TAG } from '../platform/tenancy.ts';
import { balanceFor, transactionsFor } from './service.ts';

const amounts = z.array(z.object({ amount: z.number().int(), currency: z.string() }));
const balanceView = z
  .union([
    z.object({ scope: z.literal('account'), available: amounts, pending: amounts }),
    z.object({
      scope: z.literal('dealer'),
      dealerId: z.string(),
      settled: z.number().int(),
      processing: z.number().int(),
      reversed: z.number().int(),
      net: z.number().int(),
    }),
  ])
  .meta({
    examples: [
      {
        scope: 'dealer',
        dealerId: 'dlr_4f1cTq7LmN2xV8bK',
        settled: 3450000,
        processing: 950000,
        reversed: 0,
        net: 3450000,
      },
    ],
  });
const transactionView = z.object({
  id: z.string(),
  type: z.string(),
  amount: z.number().int(),
  fee: z.number().int().nullable(),
  net: z.number().int().nullable(),
  status: z.string(),
  currency: z.string(),
  description: z.string().nullable(),
  source: z.string().nullable(),
  vehicleId: z.string().nullable(),
  availableOn: z.string().nullable(),
  created: z.string(),
});

/** Balance (5 min) and transactions (1 min). */
export async function treasuryRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/payments/balance',
    {
      schema: {
        tags: ['treasury'],
        summary:
          'Admin: the Stripe balance. Dealer: its own settled/processing totals from the ledger (cached 5 min)',
        response: { 200: balanceView },
      },
    },
    async (request, reply) =>
      cachedRead(deps.cache, reply, {
        key: ['balance', scopeKey(request.scope)],
        ttlMs: TTL.fiveMinutes,
        tags: [TREASURY_TAG],
        load: () => balanceFor(deps, request.scope),
      }),
  );
  r.get(
    '/api/payments/transactions',
    {
      schema: {
        tags: ['treasury'],
        summary: 'Admin: Stripe balance transactions. Dealer: its own payments (cached 1 min)',
        querystring: listQuery,
        response: {
          200: pageSchema(transactionView).meta({
            examples: [
              {
                data: [
                  {
                    id: 'led_bKiuwHh5Ak4H0U0X',
                    type: 'instalment',
                    amount: 950000,
                    fee: null,
                    net: null,
                    status: 'settled',
                    currency: 'eur',
                    description: 'payment',
                    source: 'pi_3QzB7dT2pLk5vNaJ',
                    vehicleId: 'FZG-2026-0815',
                    availableOn: null,
                    created: '2026-04-06T04:00:00.000Z',
                  },
                ],
                hasMore: true,
                nextCursor: 'WyIyMDI2LTA0LTA2VDA0OjAwOjAwLjAwMFoiLCJsZWRfYktpdXdIaDVBazRIMFUwWCJd',
              },
            ],
          }),
        },
      },
    },
    async (request, reply) =>
      cachedRead(deps.cache, reply, {
        key: [
          'transactions',
          scopeKey(request.scope),
          String(request.query.limit),
          request.query.cursor ?? '',
        ],
        ttlMs: TTL.oneMinute,
        tags: [TREASURY_TAG],
        load: () => transactionsFor(deps, request.scope, request.query),
      }),
  );
}
