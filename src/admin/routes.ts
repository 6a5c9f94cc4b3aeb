import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { issueDealerKey } from '../auth/keys.ts';
import { requireAdmin } from '../auth/plugin.ts';
import { dealers } from '../auth/schema.ts';
import type { Clock } from '../platform/clock.ts';
import type { Db } from '../platform/db/index.ts';
import { newId } from '../platform/ids.ts';

const createDealerBody = z
  .strictObject({ name: z.string().trim().min(1).max(200) })
  .meta({ examples: [{ name: 'Reisemobile Schmidt GmbH' }] });
const dealerCreated = z.object({ id: z.string(), name: z.string(), apiKey: z.string() }).meta({
  examples: [
    {
      id: 'dlr_4f1cTq7LmN2xV8bK',
      name: 'Reisemobile Schmidt GmbH',
      apiKey: 'mp_dealer_Hl02XohMWBuiHYT922LeiTJAeERflhUi',
    },
  ],
});

/** Admin routes: dealers (tenants) and their keys. */
export async function adminRoutes(app: FastifyInstance, opts: { db: Db; clock: Clock }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/admin/dealers',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create a dealer and its API key (the key is shown only in this answer)',
        body: createDealerBody,
        response: { 201: dealerCreated },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const now = new Date(opts.clock.now());
      const id = newId('dlr');
      const apiKey = await opts.db.transaction(async (tx) => {
        await tx.insert(dealers).values({ id, name: request.body.name, createdAt: now });
        return issueDealerKey(tx as never, id, now);
      });
      return reply.code(201).send({ id, name: request.body.name, apiKey });
    },
  );
}
