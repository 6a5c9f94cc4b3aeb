/** Events: list (filter by `type` with `*` wildcards, `types[]`, `created`) and retrieve. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate } from '../lists.ts';
import { inRange, listFields, p } from '../params.ts';
import { type ResourceModule, route } from '../resource.ts';

const COLLECTION = 'event';

/** `customer.*` style patterns, as Stripe's `type` filter takes them. */
function typeMatcher(pattern: string): (type: string) => boolean {
  if (!pattern.includes('*')) return (t) => t === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (t) => re.test(t);
}

export const events: ResourceModule = {
  name: 'events',
  objects: [{ prefix: 'evt_', collection: COLLECTION }],
  routes: [
    route({
      method: 'GET',
      path: '/v1/events',
      params: {
        ...listFields,
        created: p.range(),
        delivery_success: p.boolean(),
        type: p.string(),
        types: p.array(p.string(), { max: 20 }),
      },
      handler(ctx) {
        const q = ctx.params;
        if (q.type !== undefined && q.types !== undefined)
          throw errors.parametersExclusive(['type', 'types']);
        const matchers = (q.types ?? (q.type !== undefined ? [q.type] : [])).map(typeMatcher);
        const items = ctx.store.collection<Stripe.Event>(COLLECTION).list(
          (e) =>
            (matchers.length === 0 || matchers.some((m) => m(e.type))) &&
            inRange(e.created, q.created) &&
            // Approximation: "delivered" = no webhook still pending for the event.
            (q.delivery_success === undefined || (e.pending_webhooks === 0) === q.delivery_success),
        );
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/events/:id',
      params: {},
      handler(ctx) {
        const event = ctx.store.collection<Stripe.Event>(COLLECTION).get(ctx.path.id!);
        if (!event) throw errors.resourceMissing('event', ctx.path.id!);
        return event;
      },
    }),
  ],
};
