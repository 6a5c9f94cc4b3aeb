import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { scopeKey } from '../auth/plugin.ts';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { requestKeyOf } from '../platform/idempotency.ts';
import { pageSchema } from '../platform/pagination.ts';
import { listTag, tags } from '../platform/tenancy.ts';
import {
  cancelPlanBody,
  createPlanBody,
  planDetailExample,
  planDetailView,
  planExample,
  planListQuery,
  planView,
  quoteView,
} from './plan-schemas.ts';
import { quoteInputSchema } from './quote-schema.ts';
import {
  cancelPlan,
  createFinancingPlan,
  FINANCING,
  financingPlanDetail,
  getPlanRow,
  listFinancingPlans,
  payOffPlan,
  quoteFor,
} from './service.ts';

const planParams = z.object({ id: z.string().min(1).max(100) });

/** Financing: quotes, plans (Finanzierungs-Raten) with payoff and cancellation. */
export async function financingRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    '/api/payments/financing/quote',
    {
      schema: {
        tags: ['financing'],
        summary: 'Quote a vehicle financing: monthly rate, schedule, effective yearly rate (PAngV)',
        description:
          'Pure calculation, nothing is stored. Without firstPaymentDate every dueDate is null. A rejected input answers 400 with details[].field naming it (e.g. body.balloon).',
        body: quoteInputSchema,
        response: { 200: quoteView },
      },
    },
    async (request) => quoteFor(request.body),
  );

  r.post(
    '/api/payments/subscriptions',
    {
      schema: {
        tags: ['financing'],
        summary: 'Create a financing plan: exactly durationMonths monthly instalments from startDate',
        description:
          'From monthlyRate + durationMonths, or from `financing` (a quote input; the quote is stored, its rate and term used, its balloon invoiced separately, payable by bank transfer). Without a payment method on file the answer carries setupUrl (status awaiting_payment_method) and collection starts once the buyer has given one. Retrying with the same Idempotency-Key resumes the same plan.',
        body: createPlanBody,
        response: { 201: planView.meta({ examples: [planExample] }) },
      },
    },
    async (request, reply) => {
      const plan = await createFinancingPlan(
        deps,
        request.scope,
        request.body,
        requestKeyOf(request) ?? undefined,
      );
      return reply.code(201).send(plan);
    },
  );

  r.get(
    '/api/payments/subscriptions',
    {
      schema: {
        tags: ['financing'],
        summary: 'The caller’s financing plans, newest first, with paid/remaining counts (cached 1 min)',
        querystring: planListQuery,
        response: {
          200: pageSchema(planView).meta({
            examples: [{ data: [planExample], hasMore: false, nextCursor: null }],
          }),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      return cachedRead(deps.cache, reply, {
        key: [
          FINANCING,
          scopeKey(request.scope),
          'list',
          String(q.limit),
          q.cursor ?? '',
          q.customerId ?? '',
          q.status ?? '',
        ],
        ttlMs: TTL.oneMinute,
        tags: [listTag(FINANCING, request.scope)],
        load: () => listFinancingPlans(deps, request.scope, q),
      });
    },
  );

  r.get(
    '/api/payments/subscriptions/:id',
    {
      schema: {
        tags: ['financing'],
        summary:
          'One plan: terms, every payment with its status, arrears, payoff today, § 498 check (cached 1 min)',
        params: planParams,
        response: { 200: planDetailView.meta({ examples: [planDetailExample] }) },
      },
    },
    async (request, reply) => {
      // Resolve (and tenant-check) outside the cache, so another dealer's id is always a plain 404.
      const plan = await getPlanRow(deps, request.scope, request.params.id);
      return cachedRead(deps.cache, reply, {
        key: [FINANCING, 'detail', plan.id],
        ttlMs: TTL.oneMinute,
        tags: [tags.object(FINANCING, plan.id)],
        load: async () => financingPlanDetail(deps, await getPlanRow(deps, request.scope, plan.id)),
      });
    },
  );

  r.post(
    '/api/payments/subscriptions/:id/payoff',
    {
      schema: {
        tags: ['financing'],
        summary: 'Pay the plan off early: stop collection, invoice the remaining principal (bank transfer)',
        description:
          'No further instalments are billed; open instalment invoices are voided; one payoff invoice asks for the remaining principal plus interest of payments already due, none after today. Status terminated_early until it is paid, then paid_off.',
        params: planParams,
        response: {
          200: planDetailView.meta({
            examples: [
              {
                ...planDetailExample,
                status: 'terminated_early',
                nextPaymentDate: null,
                schedule: planDetailExample.schedule.map((p) =>
                  p.status === 'paid' ? p : { ...p, status: 'void' },
                ),
                payoffInvoiceId: 'inv_Ty6zV2sKe8mU4rPc',
              },
            ],
          }),
        },
      },
    },
    async (request) => payOffPlan(deps, request.scope, request.params.id),
  );

  r.post(
    '/api/payments/subscriptions/:id/cancel',
    {
      schema: {
        tags: ['financing'],
        summary: 'Cancel the plan without payoff (Stripe stops billing; issued invoices stay payable)',
        params: planParams,
        body: cancelPlanBody,
        response: {
          200: planDetailView.meta({
            examples: [
              {
                ...planDetailExample,
                status: 'canceled',
                nextPaymentDate: null,
                payoff: null,
                cancelReason: 'Käufer hat vom Kaufvertrag zurückgetreten (Rücktritt vom 18.04.2026).',
              },
            ],
          }),
        },
      },
    },
    async (request) => cancelPlan(deps, request.scope, request.params.id, request.body.reason),
  );

  r.get(
    '/payments/setup-complete',
    {
      schema: {
        hide: true,
        querystring: z.object({ plan: z.string().max(100).optional() }),
      },
    },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><html lang="de"><meta charset="utf-8"><title>Zahlungsmethode gespeichert</title>' +
            '<body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>Vielen Dank!</h1>' +
            '<p>Ihre Zahlungsmethode ist gespeichert. Die Raten Ihrer Finanzierung werden ab dem vereinbarten Termin eingezogen.</p></body></html>',
        ),
  );
}
