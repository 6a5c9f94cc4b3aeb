import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cachedRead, TTL } from '../platform/cached-route.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { requestKeyOf } from '../platform/idempotency.ts';
import { tags } from '../platform/tenancy.ts';
import { createPaymentLinkBody, paymentLinkView } from './schemas.ts';
import { createPaymentLink, getPaymentLinkRow, LINKS, toPaymentLinkView } from './service.ts';

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** Payment links (Zahlungsaufforderung per Link) and the page buyers land on after paying. */
export async function paymentLinkRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/payments/payment-links',
    {
      schema: {
        tags: ['payment-links'],
        summary: 'Create a payment link (one completed payment at most; deactivated once paid)',
        body: createPaymentLinkBody,
        response: { 201: paymentLinkView },
      },
    },
    async (request, reply) => {
      const link = await createPaymentLink(
        deps,
        request.scope,
        request.body,
        requestKeyOf(request) ?? undefined,
      );
      return reply.code(201).send(link);
    },
  );
  r.get(
    '/api/payments/payment-links/:id',
    {
      schema: {
        tags: ['payment-links'],
        summary: 'One payment link with its status (active, processing, paid, failed) (cached 1 min)',
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: paymentLinkView },
      },
    },
    async (request, reply) => {
      const row = await getPaymentLinkRow(deps, request.scope, request.params.id);
      return cachedRead(deps.cache, reply, {
        key: ['payment-links', row.id],
        ttlMs: TTL.oneMinute,
        tags: [tags.object(LINKS, row.id)],
        load: async () => toPaymentLinkView(await getPaymentLinkRow(deps, request.scope, row.id)),
      });
    },
  );
  // The buyer's landing page after paying (no API key: the buyer's browser comes here).
  r.get(
    '/payments/success',
    {
      schema: {
        hide: true,
        querystring: z.object({
          link: z.string().max(100).optional(),
          session: z.string().max(200).optional(),
        }),
      },
    },
    async (request, reply) => {
      const ref = request.query.link ? `<p>Referenz: ${escapeHtml(request.query.link)}</p>` : '';
      return reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Vielen Dank – MORELO</title></head><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>Vielen Dank für Ihre Zahlung</h1><p>Ihre Zahlung ist bei uns eingegangen. Bei einer SEPA-Lastschrift kann die Gutschrift einige Tage dauern; Sie erhalten keine weitere Zahlungsaufforderung für diesen Betrag.</p>${ref}<p>Ihr MORELO-Händler</p></body></html>`,
        );
    },
  );
}
