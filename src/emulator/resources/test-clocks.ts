/**
 * Test clocks (`stripe.testHelpers.testClocks`). The emulator has one clock for everything, so a
 * test clock is a handle on it: `advance` moves the emulator-wide clock to at least `frozen_time`
 * and runs all due work (renewals, retries, settlements, schedule ends) in time order before the
 * clock reports `ready`. Customers created with `test_clock` record it; their objects follow the
 * shared clock. Objects of customers on other clocks therefore move too — the simplification.
 * Advancing backwards (or to the same time) is a 400, as on Stripe.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { listFields, p } from '../params.ts';
import { type ResourceModule, route } from '../resource.ts';
import { requireLive } from './shared.ts';

const TEST_CLOCK = 'test_clock';
/** Stripe deletes test clocks 30 days after creation. */
const LIFETIME = 30 * 86_400;

type TestClock = Stripe.TestHelpers.TestClock;

export const testClocks: ResourceModule = {
  name: 'test_clocks',
  objects: [{ prefix: 'clock_', collection: TEST_CLOCK }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/test_helpers/test_clocks',
      params: { frozen_time: p.integer().required(), name: p.string({ maxLength: 300 }) },
      handler(ctx) {
        const now = ctx.now();
        const clock: TestClock = {
          id: ctx.newId('clock', 24),
          object: 'test_helpers.test_clock',
          created: now,
          deletes_after: now + LIFETIME,
          frozen_time: ctx.params.frozen_time,
          livemode: false,
          name: ctx.params.name ?? null,
          status: 'ready',
          status_details: {},
        } satisfies TestClock;
        const saved = ctx.store.collection<TestClock>(TEST_CLOCK).insert(clock);
        ctx.emit('test_helpers.test_clock.created', saved);
        return saved;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/test_helpers/test_clocks',
      params: listFields,
      handler: (ctx) => paginate(ctx, TEST_CLOCK, ctx.store.collection<TestClock>(TEST_CLOCK).list()),
    }),
    route({
      method: 'GET',
      path: '/v1/test_helpers/test_clocks/:id',
      params: {},
      handler(ctx) {
        const found = ctx.store.collection<TestClock>(TEST_CLOCK).get(ctx.path.id!);
        if (!found) throw errors.resourceMissing('test_helpers.test_clock', ctx.path.id!);
        return found;
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/test_helpers/test_clocks/:id',
      params: {},
      handler(ctx) {
        const clock = requireLive<TestClock>(ctx, TEST_CLOCK, ctx.path.id!, 'test_helpers.test_clock');
        const tombstone: Stripe.TestHelpers.DeletedTestClock = {
          id: clock.id,
          object: 'test_helpers.test_clock',
          deleted: true,
        };
        ctx.store.collection(TEST_CLOCK).markDeleted(clock.id, tombstone);
        ctx.emit('test_helpers.test_clock.deleted', clock);
        return tombstone;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/test_helpers/test_clocks/:id/advance',
      params: { frozen_time: p.integer().required() },
      async handler(ctx) {
        const clocks = ctx.store.collection<TestClock>(TEST_CLOCK);
        const clock = requireLive<TestClock>(ctx, TEST_CLOCK, ctx.path.id!, 'test_helpers.test_clock');
        const target = ctx.params.frozen_time;
        if (clock.status === 'advancing') {
          throw errors.invalidParam(
            undefined,
            'The test clock is already advancing.',
            'test_clock_advancing',
          );
        }
        if (target <= clock.frozen_time) {
          throw errors.invalidParam(
            'frozen_time',
            `The frozen_time must be after the test clock's current frozen_time (${clock.frozen_time}).`,
          );
        }
        const advancing = clocks.replace({
          ...clock,
          status: 'advancing',
          status_details: { advancing: { target_frozen_time: target } },
        });
        ctx.emit('test_helpers.test_clock.advancing', advancing);
        await ctx.advanceClockTo(target);
        const ready = clocks.replace({
          ...advancing,
          frozen_time: target,
          status: 'ready',
          status_details: {},
        });
        ctx.emit('test_helpers.test_clock.ready', ready);
        // Stripe answers while the clock is still advancing; callers poll until `ready`.
        return advancing;
      },
    }),
  ],
};
