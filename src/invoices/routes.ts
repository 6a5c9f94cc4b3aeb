import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { requestKeyOf } from '../platform/idempotency.ts';
import { tags } from '../platform/tenancy.ts';
import { createInvoiceBody, invoiceView } from './schemas.ts';
import { createInvoice, getInvoiceRow, INVOICES, toInvoiceView } from './service.ts';

/** Invoices: create and send (down payment, remainder), read one. */
export async function invoiceRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/payments/invoices',
    {
      schema: {
        tags: ['invoices'],
        summary: 'Create and send an invoice (Anzahlung, Restzahlung, other)',
        description:
          'Payable within daysUntilDue (default 14). Amounts above 10.000,00 € are offered by bank transfer and card only (no SEPA debit). Consumer invoices carry the § 286 (3) BGB notice. Retrying with the same Idempotency-Key resumes the same invoice.',
        body: createInvoiceBody,
        response: { 201: invoiceView },
      },
    },
    async (request, reply) => {
      const invoice = await createInvoice(
        deps,
        request.scope,
        request.body,
        requestKeyOf(request) ?? undefined,
      );
      return reply.code(201).send(invoice);
    },
  );
  r.get(
    '/api/payments/invoices/:id',
    {
      schema: {
        tags: ['invoices'],
        summary: 'One invoice (cached 1 min)',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: invoiceView },
      },
    },
    async (request, reply) => {
      const row = await getInvoiceRow(deps, request.scope, request.params.id);
      return cachedRead(deps.cache, reply, {
        key: ['invoices', row.id],
        ttlMs: TTL.oneMinute,
        tags: [tags.object(INVOICES, row.id)],
        load: async () => toInvoiceView(await getInvoiceRow(deps, request.scope, row.id)),
      });
    },
  );
}
