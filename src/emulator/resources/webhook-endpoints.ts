/**
 * Webhook endpoints: create (the `whsec_` secret is shown only in the create response), retrieve,
 * update (`disabled` pauses delivery), list, delete. Delivery itself lives in ../webhooks.ts.
 */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { API_VERSION } from '../events.ts';
import { randomBase62 } from '../ids.ts';
import { paginate } from '../lists.ts';
import { applyMetadata, listFields, p } from '../params.ts';
import { type EmulatorContext, type ResourceModule, route } from '../resource.ts';
import type { StoredObject } from '../store.ts';
import { ENDPOINT_COLLECTION as COLLECTION } from '../webhooks.ts';
import { requireLive } from './shared.ts';

/** The signing secret is stored on the object; every response but the create one hides it. */
function render(endpoint: StoredObject): Stripe.WebhookEndpoint {
  const { secret: _secret, ...rest } = endpoint as Stripe.WebhookEndpoint;
  return rest;
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw errors.invalidParam(
      'url',
      `Invalid URL: ${url}. URLs must be absolute, e.g. https://example.com/webhook.`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw errors.invalidParam('url', `Invalid URL: ${url}. Only http and https URLs are supported.`);
  }
}

function checkEvents(events: string[]): string[] {
  if (events.length === 0) throw errors.parameterMissing('enabled_events');
  events.forEach((e, i) => {
    if (e !== '*' && !/^[a-z_]+(\.[a-z_]+)+$/.test(e)) {
      throw errors.invalidParam(
        `enabled_events[${i}]`,
        `Invalid enabled_events[${i}]: ${e} is not an event type.`,
      );
    }
  });
  return events;
}

/** A new endpoint; typed against the SDK so shape drift fails to compile. */
export function buildWebhookEndpoint(
  ctx: EmulatorContext,
  input: {
    url: string;
    enabled_events: string[];
    api_version?: string;
    description?: string | null;
    metadata?: Record<string, string> | null;
  },
  secret: string,
): Stripe.WebhookEndpoint {
  return {
    id: ctx.newId('we', 24),
    object: 'webhook_endpoint',
    api_version: input.api_version ?? null,
    application: null,
    created: ctx.now(),
    description: input.description ?? null,
    enabled_events: input.enabled_events,
    livemode: false,
    metadata: applyMetadata({}, input.metadata),
    secret,
    status: 'enabled',
    url: input.url,
  } satisfies Stripe.WebhookEndpoint;
}

/** Builds the module; every endpoint gets `fixedSecret` when given (offline STRIPE_WEBHOOK_SECRET). */
export function webhookEndpointsResource(fixedSecret: () => string | undefined): ResourceModule {
  return {
    name: 'webhook_endpoints',
    objects: [{ prefix: 'we_', collection: COLLECTION, render }],
    routes: [
      route({
        method: 'POST',
        path: '/v1/webhook_endpoints',
        params: {
          enabled_events: p.array(p.string()).required(),
          url: p.string().required(),
          api_version: p.string(),
          connect: p.boolean(),
          description: p.string().emptyable(),
          metadata: p.metadata(),
        },
        handler(ctx) {
          const q = ctx.params;
          checkUrl(q.url);
          checkEvents(q.enabled_events);
          if (q.api_version !== undefined && q.api_version !== API_VERSION) {
            throw errors.invalidParam(
              'api_version',
              `The Stripe emulator only speaks API version ${API_VERSION}.`,
            );
          }
          const secret = fixedSecret() ?? `whsec_${randomBase62(32)}`;
          const endpoint = buildWebhookEndpoint(ctx, q, secret);
          ctx.store.collection<Stripe.WebhookEndpoint>(COLLECTION).insert(endpoint);
          return endpoint;
        },
      }),
      route({
        method: 'GET',
        path: '/v1/webhook_endpoints',
        params: listFields,
        handler(ctx) {
          return paginate(
            ctx,
            COLLECTION,
            ctx.store.collection<Stripe.WebhookEndpoint>(COLLECTION).list().map(render),
          );
        },
      }),
      route({
        method: 'GET',
        path: '/v1/webhook_endpoints/:id',
        params: {},
        handler(ctx) {
          return render(requireLive(ctx, COLLECTION, ctx.path.id!, 'webhook endpoint'));
        },
      }),
      route({
        method: 'POST',
        path: '/v1/webhook_endpoints/:id',
        params: {
          description: p.string().emptyable(),
          disabled: p.boolean(),
          enabled_events: p.array(p.string()),
          metadata: p.metadata(),
          url: p.string(),
        },
        handler(ctx) {
          const before = requireLive<Stripe.WebhookEndpoint>(
            ctx,
            COLLECTION,
            ctx.path.id!,
            'webhook endpoint',
          );
          const q = ctx.params;
          const after = structuredClone(before);
          if (q.description !== undefined) after.description = q.description;
          if (q.disabled !== undefined) after.status = q.disabled ? 'disabled' : 'enabled';
          if (q.enabled_events !== undefined) after.enabled_events = checkEvents(q.enabled_events);
          after.metadata = applyMetadata(after.metadata, q.metadata);
          if (q.url !== undefined) {
            checkUrl(q.url);
            after.url = q.url;
          }
          // Webhook endpoint changes are not events on Stripe either.
          ctx.store.collection<Stripe.WebhookEndpoint>(COLLECTION).replace(after);
          return render(after);
        },
      }),
      route({
        method: 'DELETE',
        path: '/v1/webhook_endpoints/:id',
        params: {},
        handler(ctx) {
          const endpoint = requireLive<Stripe.WebhookEndpoint>(
            ctx,
            COLLECTION,
            ctx.path.id!,
            'webhook endpoint',
          );
          const tombstone: Stripe.DeletedWebhookEndpoint = {
            id: endpoint.id,
            object: 'webhook_endpoint',
            deleted: true,
          };
          ctx.store.collection(COLLECTION).markDeleted(endpoint.id, tombstone);
          return tombstone;
        },
      }),
    ],
  };
}
