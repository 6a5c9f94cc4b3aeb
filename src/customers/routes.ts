import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scopeKey } from '../auth/plugin.ts';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { listQuery, pageSchema } from '../platform/pagination.ts';
import { listTag, tags, withTenant } from '../platform/tenancy.ts';
import { buyerExample, buyerView, createBuyerBody } from './schemas.ts';
import { BUYERS, createBuyer, getBuyerRow, listBuyers, toBuyerView } from './service.ts';

/**
 * Extra sections of the buyer detail view, contributed by other capabilities (invoices, plans, payments).
 * Their writers invalidate the buyer's object tag, so the cached detail stays honest.
 */
export type BuyerDetailSection = (
  deps: ServiceDeps,
  buyerId: string,
) => Promise<{ name: string; value: unknown }>;

/** Buyers: create, list, detail. */
export async function customerRoutes(
  app: FastifyInstance,
  opts: { deps: ServiceDeps; detailSections: BuyerDetailSection[] },
) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/payments/customers',
    {
      schema: {
        tags: ['customers'],
        summary: 'Create a buyer (Stripe customer with buyerId, vehicleId, dealerId metadata)',
        description:
          'Sending the same dealer + buyerId again returns the existing buyer (200) instead of a second one.',
        body: createBuyerBody,
        response: { 200: buyerView, 201: buyerView },
      },
    },
    async (request, reply) => {
      const { buyer, created } = await createBuyer(deps, request.scope, request.body);
      return reply.code(created ? 201 : 200).send(buyer);
    },
  );

  r.get(
    '/api/payments/customers',
    {
      schema: {
        tags: ['customers'],
        summary: 'The caller’s buyers, newest first (cached 5 min)',
        querystring: listQuery,
        response: {
          200: pageSchema(buyerView).meta({
            examples: [{ data: [buyerExample], hasMore: false, nextCursor: null }],
          }),
        },
      },
    },
    async (request, reply) =>
      cachedRead(deps.cache, reply, {
        key: [
          'customers',
          scopeKey(request.scope),
          'list',
          String(request.query.limit),
          request.query.cursor ?? '',
        ],
        ttlMs: TTL.fiveMinutes,
        tags: [listTag(BUYERS, request.scope)],
        load: () =>
          withTenant(deps.db, request.scope, (db) =>
            listBuyers({ ...deps, db }, request.scope, request.query),
          ),
      }),
  );

  r.get(
    '/api/payments/customers/:id',
    {
      schema: {
        tags: ['customers'],
        summary: 'One buyer with invoices, financing plans, payments and open amount (cached 1 min)',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: {
          200: buyerView
            .extend({})
            .catchall(z.unknown())
            .meta({
              examples: [
                {
                  ...buyerExample,
                  invoices: [
                    {
                      id: 'inv_8sKd2LqP0vXz4MwT',
                      customerId: 'byr_Zk3pQ8xL2mVt9wRa',
                      vehicleId: 'FZG-2026-0815',
                      kind: 'down_payment',
                      description: 'Anzahlung MORELO Palace 90G, Fahrgestell-Nr. ZFA25000002K81547',
                      number: 'MOR-2026-0042',
                      status: 'paid',
                      amountDue: 2500000,
                      amountPaid: 2500000,
                      amountRemaining: 0,
                      paymentProcessing: false,
                      dueDate: '2026-03-16',
                      hostedInvoiceUrl: 'https://invoice.stripe.com/i/acct_1Mor3lo/test_YWNjdF8xTW9y',
                      paymentMethodTypes: ['customer_balance', 'card'],
                      stripeInvoiceId: 'in_1QxR8mT2pLk5vNaB',
                      createdAt: '2026-03-02T09:20:03.000Z',
                    },
                  ],
                  financingPlans: [],
                },
              ],
            }),
        },
      },
    },
    async (request, reply) => {
      // Resolve (and tenant-check) outside the cache, so another dealer's id is always a plain 404.
      const row = await withTenant(deps.db, request.scope, (db) =>
        getBuyerRow({ ...deps, db }, request.scope, request.params.id),
      );
      return cachedRead(deps.cache, reply, {
        key: ['customers', 'detail', row.id],
        ttlMs: TTL.oneMinute,
        tags: [tags.object(BUYERS, row.id)],
        load: async () => {
          // The sections query by buyer id alone; row-level security keeps them to the caller's dealer too.
          // One connection serves the transaction, so the sections are read one after another.
          const sections = await withTenant(deps.db, request.scope, async (db) => {
            const out = [];
            for (const section of opts.detailSections) out.push(await section({ ...deps, db }, row.id));
            return out;
          });
          return { ...toBuyerView(row), ...Object.fromEntries(sections.map((s) => [s.name, s.value])) };
        },
      });
    },
  );
}
