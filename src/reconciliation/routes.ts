import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import type { InboxProcessor } from '../webhooks/processor.ts';
import { reconcile } from './service.ts';

const report = z
  .object({
    full: z
      .boolean()
      .describe('Every invoice and link compared, or only outstanding and recently changed ones.'),
    since: z.number(),
    until: z.number(),
    eventsScanned: z.number(),
    eventsReplayed: z.array(z.string()),
    invoicesChecked: z.number(),
    linksChecked: z.number(),
    differences: z.array(
      z.object({
        dealerId: z.string(),
        vehicleId: z.string(),
        invoiceId: z.string().nullable(),
        stripeObject: z.string(),
        ours: z.number(),
        stripe: z.number(),
        note: z.string(),
      }),
    ),
  })
  .meta({
    examples: [
      {
        full: false,
        since: 1774936800,
        until: 1775023200,
        eventsScanned: 214,
        eventsReplayed: ['evt_1QzB7dT2pLk5vNaFw3Lm9xQe'],
        invoicesChecked: 57,
        linksChecked: 12,
        differences: [],
      },
    ],
  });

/** POST /api/admin/reconcile — run reconciliation now (it also runs on a schedule and at start). */
export async function reconciliationRoutes(
  app: FastifyInstance,
  opts: { deps: ServiceDeps; processor: InboxProcessor },
) {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/admin/reconcile',
    {
      schema: {
        tags: ['admin'],
        summary: 'Replay Stripe events the webhook missed and report where the ledger and Stripe disagree',
        description:
          'Compares invoices and payment links with Stripe: all of them on the first run, once a day and with `?full=true`; otherwise those still waiting for money and those changed since the previous run.',
        querystring: z.strictObject({
          full: z
            .enum(['true', 'false'])
            .optional()
            .describe('`true`: compare every invoice and link now, not only outstanding and recent ones.'),
        }),
        response: { 200: report },
      },
    },
    async (request) => {
      requireAdmin(request);
      return reconcile(opts.deps, {
        applyNow: () => opts.processor.drain(),
        full: request.query.full === 'true',
      });
    },
  );
}
