import { and, desc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { NotFoundError } from '../platform/errors.ts';
import type { InboxProcessor } from './processor.ts';
import { storeEvent, verifyStripeEvent } from './receive.ts';
import { webhookInbox } from './schema.ts';

/** Where the webhook secrets come from: config, or the endpoint registered with the emulator. */
export type SecretSource = () => readonly string[];

/**
 * POST /webhooks/stripe. Its own plugin scope keeps JSON parsing away: the signature is checked on the raw
 * bytes, the event stored durably, and only then 200 is answered; the processing happens off the inbox.
 */
export async function webhookRoutes(
  app: FastifyInstance,
  opts: { deps: ServiceDeps; secrets: SecretSource; processor: InboxProcessor },
) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/webhooks/stripe',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Stripe events (signature-checked on the raw body)',
        security: [],
        response: {
          200: z
            .object({ received: z.literal(true), duplicate: z.boolean() })
            .meta({ examples: [{ received: true, duplicate: false }] }),
        },
      },
    },
    async (request) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const event = verifyStripeEvent(
        raw,
        request.headers['stripe-signature'] as string | undefined,
        opts.secrets(),
      );
      const isNew = await storeEvent(opts.deps.db, opts.deps.clock, event);
      request.log.info({ eventId: event.id, type: event.type, duplicate: !isNew }, 'stripe event stored');
      if (isNew) opts.processor.notify();
      return { received: true as const, duplicate: !isNew };
    },
  );
}

const inboxView = z.object({
  eventId: z.string(),
  type: z.string(),
  status: z.string(),
  attempts: z.number(),
  lastError: z.string().nullable(),
  receivedAt: z.string(),
  processedAt: z.string().nullable(),
});

/** Admin view of the inbox: failed events and their replay. */
export async function webhookAdminRoutes(
  app: FastifyInstance,
  opts: { deps: ServiceDeps; processor: InboxProcessor },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { db, clock } = opts.deps;
  r.get(
    '/api/admin/webhook-events',
    {
      schema: {
        tags: ['admin'],
        summary: 'Stored Stripe events, newest first (filter by status, e.g. failed)',
        querystring: z.object({
          status: z.enum(['pending', 'processing', 'succeeded', 'failed']).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(50),
        }),
        response: {
          200: z.object({ data: z.array(inboxView) }).meta({
            examples: [
              {
                data: [
                  {
                    eventId: 'evt_1QzB7dT2pLk5vNaFw3Lm9xQe',
                    type: 'invoice.payment_failed',
                    status: 'failed',
                    attempts: 5,
                    lastError: 'invoice inv_8sKd2LqP0vXz4MwT: database connection terminated',
                    receivedAt: '2026-04-01T06:00:02.000Z',
                    processedAt: null,
                  },
                ],
              },
            ],
          }),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const rows = await db
        .select()
        .from(webhookInbox)
        .where(request.query.status ? eq(webhookInbox.status, request.query.status) : undefined)
        .orderBy(desc(webhookInbox.receivedAt))
        .limit(request.query.limit);
      return {
        data: rows.map((row) => ({
          eventId: row.eventId,
          type: row.type,
          status: row.status,
          attempts: row.attempts,
          lastError: row.lastError,
          receivedAt: row.receivedAt.toISOString(),
          processedAt: row.processedAt?.toISOString() ?? null,
        })),
      };
    },
  );
  r.post(
    '/api/admin/webhook-events/:eventId/replay',
    {
      schema: {
        tags: ['admin'],
        summary: 'Process a failed event again',
        params: z.object({ eventId: z.string().min(1) }),
        response: {
          200: z
            .object({ eventId: z.string(), status: z.string() })
            .meta({ examples: [{ eventId: 'evt_1QzB7dT2pLk5vNaFw3Lm9xQe', status: 'succeeded' }] }),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const [row] = await db
        .update(webhookInbox)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: new Date(clock.now()), lastError: null })
        .where(and(eq(webhookInbox.eventId, request.params.eventId), eq(webhookInbox.status, 'failed')))
        .returning();
      if (!row) throw new NotFoundError('Failed event', request.params.eventId);
      opts.processor.notify();
      return { eventId: row.eventId, status: row.status };
    },
  );
}
