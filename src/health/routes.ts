import type { FastifyInstance } from 'fastify';
import type Stripe from 'stripe';
import { z } from 'zod';
import type { Database } from '../platform/db/index.ts';

/** Is Stripe answering? A permission error still proves it is reachable (restricted keys). */
async function stripeReachable(stripe: Stripe): Promise<boolean> {
  try {
    await stripe.customers.list({ limit: 1 }, { maxNetworkRetries: 0, timeout: 3000 });
    return true;
  } catch (err) {
    return (err as { type?: string }).type === 'StripePermissionError';
  }
}

const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ database: z.boolean(), stripe: z.boolean() }),
});
const ready = readiness.meta({ examples: [{ status: 'ready', checks: { database: true, stripe: true } }] });
const notReady = readiness.meta({
  examples: [{ status: 'not_ready', checks: { database: true, stripe: false } }],
});

/** GET /health (process up) and GET /ready (database and Stripe reachable). */
export async function healthRoutes(app: FastifyInstance, opts: { database: Database; stripe: Stripe }) {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        response: { 200: z.object({ status: z.literal('ok') }).meta({ examples: [{ status: 'ok' }] }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/ready',
    { schema: { tags: ['health'], response: { 200: ready, 503: notReady } } },
    async (_request, reply) => {
      const [database, stripe] = await Promise.all([opts.database.ping(), stripeReachable(opts.stripe)]);
      const ok = database && stripe;
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ready' : 'not_ready', checks: { database, stripe } });
    },
  );
}
