/**
 * Subscription schedules: a start date (now or later) and phases with `duration` or `end_date`
 * (`iterations` is gone in this API version: 400 parameter_unknown). The subscription is created at
 * start_date, runs exactly the phases, and at the end is canceled (`end_behavior: cancel`,
 * `customer.subscription.deleted`) or left running (`release`, the default).
 *
 * Phase boundaries are scheduled before the subscription's own renewals, so at the last boundary
 * the schedule ends the subscription before a renewal for the next period could be invoiced.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { previousAttributes } from '../events.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, type Infer, inRange, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { Wire } from '../wire.ts';
import { requireLive } from './shared.ts';
import {
  addIntervals,
  createSubscription,
  endSubscription,
  SUBSCRIPTION,
  type Subscription,
  type SubscriptionInput,
} from './subscriptions.ts';

const SCHEDULE = 'subscription_schedule';
const SCHEDULE_STATE = 'billing_schedule_state';

type Schedule = Wire<Stripe.SubscriptionSchedule>;

interface ScheduleState {
  id: string;
  tasks: string[];
  /** The phases as requested, for creating / switching the subscription. */
  phases: PhaseInput[];
}

const intervals = ['day', 'week', 'month', 'year'] as const;

const phaseItemParam = p.object({
  metadata: p.metadata(),
  price: p.string(),
  price_data: p.object({
    currency: p.string().required(),
    product: p.string().required(),
    recurring: p
      .object({ interval: p.enum(intervals).required(), interval_count: p.integer({ min: 1 }) })
      .required(),
    tax_behavior: p.enum(['exclusive', 'inclusive', 'unspecified']),
    unit_amount: p.integer({ min: 0 }),
    unit_amount_decimal: p.decimal(),
  }),
  quantity: p.integer({ min: 0 }),
});

const invoiceSettingsParam = p.object({ days_until_due: p.integer({ min: 0 }) });

const phaseParam = p.object({
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  default_payment_method: p.string(),
  description: p.string().emptyable(),
  duration: p.object({ interval: p.enum(intervals).required(), interval_count: p.integer({ min: 1 }) }),
  end_date: p.integer(),
  invoice_settings: invoiceSettingsParam,
  items: p.array(phaseItemParam, { max: 20 }).required(),
  metadata: p.metadata(),
  proration_behavior: p.enum(['always_invoice', 'create_prorations', 'none']),
});
type PhaseInput = NonNullable<Infer<{ x: typeof phaseParam }>['x']>;

const defaultSettingsParam = p.object({
  collection_method: p.enum(['charge_automatically', 'send_invoice']),
  default_payment_method: p.string(),
  description: p.string().emptyable(),
  invoice_settings: invoiceSettingsParam,
});

const createFields = {
  customer: p.string(),
  default_settings: defaultSettingsParam,
  end_behavior: p.enum(['cancel', 'none', 'release', 'renew']),
  metadata: p.metadata(),
  phases: p.array(phaseParam, { max: 10 }),
  start_date: p.string(),
};

function emitSchedule(ctx: EmulatorContext, type: string, s: Schedule, previous?: Record<string, unknown>) {
  ctx.emit(type, s, previous);
}

function saveSchedule(ctx: EmulatorContext, before: Schedule, after: Schedule, type: string): Schedule {
  const saved = ctx.store.collection<Schedule>(SCHEDULE).replace(after);
  emitSchedule(ctx, type, saved, previousAttributes(before, saved));
  return saved;
}

function stateOf(ctx: EmulatorContext, id: string): ScheduleState {
  return ctx.store.collection<ScheduleState>(SCHEDULE_STATE).get(id)!;
}

/** Phase start/end dates from the start date and each phase's duration or end_date. */
function phaseDates(start: number, phases: PhaseInput[]): Array<{ start: number; end: number }> {
  let at = start;
  return phases.map((ph, i) => {
    let end: number;
    if (ph.duration && ph.end_date !== undefined)
      throw errors.parametersExclusive([`phases[${i}][duration]`, `phases[${i}][end_date]`]);
    if (ph.duration) end = addIntervals(at, ph.duration.interval, ph.duration.interval_count ?? 1);
    else if (ph.end_date !== undefined) end = ph.end_date;
    else throw errors.parameterMissing(`phases[${i}][end_date]`);
    if (end <= at)
      throw errors.invalidParam(`phases[${i}][end_date]`, 'The phase end_date must be after its start_date.');
    const out = { start: at, end };
    at = end;
    return out;
  });
}

function subscriptionInputFor(schedule: Schedule, phase: PhaseInput): SubscriptionInput {
  const d = schedule.default_settings;
  const method = (phase.collection_method ?? d.collection_method ?? 'charge_automatically') as
    | 'charge_automatically'
    | 'send_invoice';
  const pm = phase.default_payment_method ?? (d.default_payment_method as string | null) ?? undefined;
  const days = phase.invoice_settings?.days_until_due ?? d.invoice_settings.days_until_due ?? undefined;
  return {
    customer: schedule.customer as string,
    items: phase.items,
    collection_method: method,
    ...(pm ? { default_payment_method: pm } : {}),
    ...(method === 'send_invoice' ? { days_until_due: days ?? 30 } : {}),
    ...(phase.description ? { description: phase.description } : {}),
    ...(phase.metadata ? { metadata: phase.metadata } : {}),
    ...(phase.proration_behavior ? { proration_behavior: phase.proration_behavior } : {}),
  };
}

/** Starts a schedule: phase boundaries first, then the subscription (see the header comment). */
function startSchedule(ctx: EmulatorContext, id: string): Schedule {
  const before = ctx.store.collection<Schedule>(SCHEDULE).get(id)!;
  const state = stateOf(ctx, id);
  before.phases.forEach((ph, i) => {
    state.tasks.push(ctx.schedule(ph.end_date, 'subscription_schedule.phase_end', { id, index: i }));
  });
  ctx.store.collection<ScheduleState>(SCHEDULE_STATE).replace(state);
  const sub = createSubscription(ctx, subscriptionInputFor(before, state.phases[0]!), { schedule: id });
  const after: Schedule = {
    ...structuredClone(before),
    status: 'active',
    subscription: sub.id,
    current_phase: { start_date: before.phases[0]!.start_date, end_date: before.phases[0]!.end_date },
  };
  return saveSchedule(ctx, before, after, 'subscription_schedule.updated');
}

function cancelTasks(ctx: EmulatorContext, id: string): void {
  const state = stateOf(ctx, id);
  for (const t of state.tasks) ctx.cancelTask(t);
  state.tasks = [];
  ctx.store.collection<ScheduleState>(SCHEDULE_STATE).replace(state);
}

function release(ctx: EmulatorContext, id: string): Schedule {
  const before = ctx.store.collection<Schedule>(SCHEDULE).get(id)!;
  cancelTasks(ctx, id);
  const subId = before.subscription as string | null;
  if (subId) {
    const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId)!;
    const saved = ctx.store.collection<Subscription>(SUBSCRIPTION).replace({ ...sub, schedule: null });
    ctx.emit('customer.subscription.updated', saved, { schedule: id });
  }
  const after: Schedule = {
    ...structuredClone(before),
    status: 'released',
    released_at: ctx.now(),
    released_subscription: subId,
    subscription: null,
    current_phase: null,
  };
  return saveSchedule(ctx, before, after, 'subscription_schedule.released');
}

function requireSchedule(ctx: EmulatorContext, id: string): Schedule {
  return requireLive<Schedule>(ctx, SCHEDULE, id, 'subscription_schedule');
}

export const subscriptionSchedules: ResourceModule = {
  name: 'subscription_schedules',
  objects: [{ prefix: 'sub_sched_', collection: SCHEDULE }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/subscription_schedules',
      params: createFields,
      handler(ctx) {
        const q = ctx.params;
        if (q.customer === undefined) throw errors.parameterMissing('customer');
        const customer = requireLive<Stripe.Customer>(
          ctx,
          'customer',
          q.customer,
          'customer',
          'customer',
          400,
        );
        if (!q.phases?.length) throw errors.parameterMissing('phases');
        const now = ctx.now();
        let start = now;
        if (q.start_date !== undefined && q.start_date !== 'now') {
          if (!/^\d+$/.test(q.start_date)) throw errors.invalidInteger('start_date', q.start_date);
          start = Number(q.start_date);
          if (start < now)
            throw errors.invalidParam('start_date', 'The start_date cannot be in the past; use `now`.');
        }
        const dates = phaseDates(start, q.phases);
        const d = q.default_settings;
        const id = ctx.newId('sub_sched', 24);
        const schedule: Schedule = {
          id,
          object: 'subscription_schedule',
          application: null,
          billing_mode: { flexible: { proration_discounts: 'included' }, type: 'flexible', updated_at: now },
          canceled_at: null,
          completed_at: null,
          created: now,
          current_phase: null,
          customer: customer.id,
          customer_account: null,
          default_settings: {
            application_fee_percent: null,
            automatic_tax: { disabled_reason: null, enabled: false, liability: null },
            billing_cycle_anchor: 'automatic',
            billing_thresholds: null,
            collection_method: d?.collection_method ?? null,
            default_payment_method: d?.default_payment_method ?? null,
            description: d?.description ?? null,
            invoice_settings: {
              account_tax_ids: null,
              custom_fields: null,
              days_until_due: d?.invoice_settings?.days_until_due ?? null,
              description: null,
              footer: null,
              issuer: { type: 'self' },
            },
            on_behalf_of: null,
            transfer_data: null,
          },
          end_behavior: q.end_behavior ?? 'release',
          livemode: false,
          metadata: applyMetadata({}, q.metadata),
          pause_schedules: [],
          phases: q.phases.map((ph, i) => ({
            add_invoice_items: [],
            application_fee_percent: null,
            billing_cycle_anchor: null,
            billing_thresholds: null,
            collection_method: ph.collection_method ?? null,
            currency: ph.items[0]?.price_data?.currency ?? 'eur',
            default_payment_method: ph.default_payment_method ?? null,
            default_tax_rates: [],
            description: ph.description ?? null,
            discounts: [],
            end_date: dates[i]!.end,
            invoice_settings: null,
            items: ph.items.map((it) => ({
              billing_thresholds: null,
              discounts: [],
              metadata: applyMetadata({}, it.metadata),
              plan: it.price ?? '',
              price: it.price ?? '',
              quantity: it.quantity ?? 1,
              tax_rates: [],
            })),
            metadata: applyMetadata({}, ph.metadata),
            on_behalf_of: null,
            proration_behavior: ph.proration_behavior ?? 'create_prorations',
            start_date: dates[i]!.start,
            transfer_data: null,
            trial_end: null,
          })),
          released_at: null,
          released_subscription: null,
          status: 'not_started',
          subscription: null,
          test_clock: customer.test_clock as string | null,
        } satisfies Schedule;
        ctx.store.collection<Schedule>(SCHEDULE).insert(schedule);
        const state: ScheduleState = { id, tasks: [], phases: q.phases };
        ctx.store.collection<ScheduleState>(SCHEDULE_STATE).insert(state);
        emitSchedule(ctx, 'subscription_schedule.created', schedule);
        if (start <= now) return startSchedule(ctx, id);
        state.tasks.push(ctx.schedule(start, 'subscription_schedule.start', { id }));
        ctx.store.collection<ScheduleState>(SCHEDULE_STATE).replace(state);
        return schedule;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/subscription_schedules',
      params: {
        ...listFields,
        canceled_at: p.range(),
        completed_at: p.range(),
        created: p.range(),
        customer: p.string(),
        released_at: p.range(),
        scheduled: p.boolean(),
      },
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<Schedule>(SCHEDULE)
          .list(
            (s) =>
              (q.customer === undefined || s.customer === q.customer) &&
              (q.scheduled === undefined || (s.status === 'not_started') === q.scheduled) &&
              inRange(s.created, q.created) &&
              (q.canceled_at === undefined ||
                (s.canceled_at !== null && inRange(s.canceled_at, q.canceled_at))) &&
              (q.completed_at === undefined ||
                (s.completed_at !== null && inRange(s.completed_at, q.completed_at))) &&
              (q.released_at === undefined ||
                (s.released_at !== null && inRange(s.released_at, q.released_at))),
          );
        return paginate(ctx, SCHEDULE, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/subscription_schedules/:id',
      params: {},
      handler: (ctx) => requireSchedule(ctx, ctx.path.id!),
    }),
    route({
      method: 'POST',
      path: '/v1/subscription_schedules/:id',
      params: { metadata: p.metadata(), end_behavior: p.enum(['cancel', 'none', 'release', 'renew']) },
      handler(ctx) {
        const before = requireSchedule(ctx, ctx.path.id!);
        if (!['not_started', 'active'].includes(before.status))
          throw errors.invalidParam(
            undefined,
            `You cannot update a subscription schedule that is ${before.status}.`,
          );
        const after: Schedule = structuredClone(before);
        after.metadata = applyMetadata(before.metadata ?? {}, ctx.params.metadata);
        if (ctx.params.end_behavior !== undefined) after.end_behavior = ctx.params.end_behavior;
        const previous = previousAttributes(before, after);
        const saved = ctx.store.collection<Schedule>(SCHEDULE).replace(after);
        if (previous) emitSchedule(ctx, 'subscription_schedule.updated', saved, previous);
        return saved;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/subscription_schedules/:id/cancel',
      params: { invoice_now: p.boolean(), prorate: p.boolean() },
      handler(ctx) {
        const before = requireSchedule(ctx, ctx.path.id!);
        if (!['not_started', 'active'].includes(before.status))
          throw errors.invalidParam(
            undefined,
            `You cannot cancel a subscription schedule that is ${before.status}.`,
          );
        cancelTasks(ctx, before.id);
        const subId = before.subscription as string | null;
        if (subId) {
          const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId);
          if (sub && sub.status !== 'canceled') endSubscription(ctx, subId, 'cancellation_requested');
        }
        const after: Schedule = {
          ...structuredClone(before),
          status: 'canceled',
          canceled_at: ctx.now(),
          current_phase: null,
        };
        return saveSchedule(ctx, before, after, 'subscription_schedule.canceled');
      },
    }),
    route({
      method: 'POST',
      path: '/v1/subscription_schedules/:id/release',
      params: { preserve_cancel_date: p.boolean() },
      handler(ctx) {
        const before = requireSchedule(ctx, ctx.path.id!);
        if (!['not_started', 'active'].includes(before.status))
          throw errors.invalidParam(
            undefined,
            `You cannot release a subscription schedule that is ${before.status}.`,
          );
        return release(ctx, before.id);
      },
    }),
  ],
  tasks: {
    'subscription_schedule.start'(ctx, payload) {
      const { id } = payload as { id: string };
      const s = ctx.store.collection<Schedule>(SCHEDULE).get(id);
      if (s?.status !== 'not_started') return;
      startSchedule(ctx, id);
    },
    'subscription_schedule.phase_end'(ctx, payload) {
      const { id, index } = payload as { id: string; index: number };
      const before = ctx.store.collection<Schedule>(SCHEDULE).get(id);
      if (before?.status !== 'active') return;
      const subId = before.subscription as string;
      const next = before.phases[index + 1];
      if (next) {
        // Next phase: the subscription's items switch to the phase's prices from the next period on.
        const state = stateOf(ctx, id);
        const input = subscriptionInputFor(before, state.phases[index + 1]!);
        const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId)!;
        const prices = input.items!.map((it) => it.price);
        const updated: Subscription = structuredClone(sub);
        updated.items.data.forEach((item, i) => {
          const priceId = prices[i];
          if (!priceId) return;
          const price = ctx.store.collection<Wire<Stripe.Price>>('price').get(priceId);
          if (price) item.price = price;
        });
        const savedSub = ctx.store.collection<Subscription>(SUBSCRIPTION).replace(updated);
        const prevSub = previousAttributes(sub, savedSub);
        if (prevSub) ctx.emit('customer.subscription.updated', savedSub, prevSub);
        const after: Schedule = {
          ...structuredClone(before),
          current_phase: { start_date: next.start_date, end_date: next.end_date },
        };
        saveSchedule(ctx, before, after, 'subscription_schedule.updated');
        return;
      }
      if (before.end_behavior === 'cancel') {
        const sub = ctx.store.collection<Subscription>(SUBSCRIPTION).get(subId);
        if (sub && sub.status !== 'canceled') endSubscription(ctx, subId, 'cancellation_requested');
        const cur = ctx.store.collection<Schedule>(SCHEDULE).get(id)!;
        const after: Schedule = {
          ...structuredClone(cur),
          status: 'completed',
          completed_at: ctx.now(),
          current_phase: null,
        };
        saveSchedule(ctx, cur, after, 'subscription_schedule.completed');
      } else {
        release(ctx, id);
      }
    },
  },
};
