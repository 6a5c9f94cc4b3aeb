import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.ts';
import type { ClockJobs } from '../platform/clock-jobs.ts';
import type { InboxProcessor } from '../webhooks/processor.ts';

/** The offline clock: moves the emulator and the service together. */
export interface DevClock {
  /** Moves both clocks forward; resolves when the emulator has run due work and sent its webhooks. */
  advance(seconds: number): Promise<void>;
  /** Current offline time, epoch ms. */
  now(): number;
}

const DAY_SECONDS = 24 * 3600;

/** Offline only (admin): POST /api/dev/advance-time {days} — for trying out dunning and financing months ahead. */
export async function devRoutes(
  app: FastifyInstance,
  opts: { devClock: DevClock; processor: InboxProcessor; clockJobs?: ClockJobs },
) {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/dev/advance-time',
    {
      schema: {
        tags: ['dev'],
        summary:
          'Offline only, admin: move the clock forward day by day and wait until the resulting events are processed',
        body: z
          .strictObject({
            days: z.number().positive().max(3660).optional(),
            hours: z.number().positive().max(87_840).optional(),
          })
          .meta({ examples: [{ days: 30 }] }),
        response: {
          200: z.object({ now: z.string() }).meta({ examples: [{ now: '2026-04-01T06:00:00.000Z' }] }),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      let seconds = Math.round(((request.body.days ?? 0) * 24 + (request.body.hours ?? 0)) * 3600);
      // Day by day, as the days would really pass: the clock jobs (dunning letters, balloon invoices) act on the
      // day they are due, and interest is counted to that day — a 60-day jump gives the whole ladder, not one letter.
      do {
        const step = Math.min(seconds, DAY_SECONDS);
        seconds -= step;
        if (step > 0) await opts.devClock.advance(step);
        await opts.processor.drain();
        if (opts.clockJobs) {
          await opts.clockJobs.runDue();
          // What the jobs did at Stripe comes back as events: wait for their delivery, then apply them.
          await opts.devClock.advance(0);
          await opts.processor.drain();
        }
      } while (seconds > 0);
      return { now: new Date(opts.devClock.now()).toISOString() };
    },
  );
}
