/** Products: create (with `default_price_data`), retrieve, update, delete, list, search. */
import type Stripe from 'stripe';
import { errors } from '../errors.ts';
import { paginate, searchPage } from '../lists.ts';
import { applyMetadata, inRange, listFields, p } from '../params.ts';
import { type ResourceModule, route } from '../resource.ts';
import { compileSearch, type SearchSpec } from '../search.ts';
import { createPrice, priceDataFields, type WirePrice } from './prices.ts';
import { PRODUCT_COLLECTION as COLLECTION, insertProduct } from './product-store.ts';
import { requireLive, saveUpdate } from './shared.ts';

const featureParam = p.object({ name: p.string({ maxLength: 80 }).required() });
const taxDetailsParam = p.object({ performance_location: p.string(), tax_code: p.string().emptyable() });

const createFields = {
  name: p.string({ maxLength: 250 }).required(),
  active: p.boolean(),
  default_price_data: p.object(priceDataFields),
  description: p.string({ maxLength: 40000 }),
  id: p.string(),
  images: p.array(p.string(), { max: 8 }),
  marketing_features: p.array(featureParam, { max: 15 }),
  metadata: p.metadata(),
  shippable: p.boolean(),
  statement_descriptor: p.string({ maxLength: 22 }),
  tax_code: p.string(),
  tax_details: taxDetailsParam,
  type: p.enum(['good', 'service']),
  unit_label: p.string({ maxLength: 12 }),
  url: p.string(),
};

const updateFields = {
  active: p.boolean(),
  default_price: p.string(),
  description: p.string({ maxLength: 40000 }).emptyable(),
  images: p.array(p.string(), { max: 8 }).emptyable(),
  marketing_features: p.array(featureParam, { max: 15 }).emptyable(),
  metadata: p.metadata(),
  name: p.string({ maxLength: 250 }),
  shippable: p.boolean(),
  statement_descriptor: p.string({ maxLength: 22 }),
  tax_code: p.string().emptyable(),
  tax_details: taxDetailsParam.emptyable(),
  unit_label: p.string({ maxLength: 12 }).emptyable(),
  url: p.string().emptyable(),
};

const listParams = {
  ...listFields,
  active: p.boolean(),
  created: p.range(),
  ids: p.array(p.string()),
  shippable: p.boolean(),
  type: p.enum(['good', 'service']),
  url: p.string(),
};

const searchSpec: SearchSpec<Stripe.Product> = {
  fields: {
    name: { kind: 'string', substring: true, get: (pr) => pr.name },
    description: { kind: 'string', substring: true, get: (pr) => pr.description },
    active: { kind: 'string', get: (pr) => String(pr.active) },
    url: { kind: 'string', get: (pr) => pr.url },
    created: { kind: 'number', get: (pr) => pr.created },
  },
  metadata: (pr) => pr.metadata,
};

export const products: ResourceModule = {
  name: 'products',
  objects: [{ prefix: 'prod_', collection: COLLECTION }],
  routes: [
    route({
      method: 'POST',
      path: '/v1/products',
      params: createFields,
      handler(ctx) {
        const { default_price_data, tax_code, tax_details, type: _type, ...input } = ctx.params;
        const details = tax_details ?? (tax_code !== undefined ? { tax_code } : undefined);
        let product = insertProduct(ctx, { ...input, ...(details ? { tax_details: details } : {}) });
        if (default_price_data) {
          const price = createPrice(ctx, product.id, default_price_data, 'default_price_data');
          product = ctx.store
            .collection<Stripe.Product>(COLLECTION)
            .replace({ ...product, default_price: price.id });
        }
        ctx.emit('product.created', product);
        return product;
      },
    }),
    route({
      method: 'GET',
      path: '/v1/products',
      params: listParams,
      handler(ctx) {
        const q = ctx.params;
        const items = ctx.store
          .collection<Stripe.Product>(COLLECTION)
          .list(
            (pr) =>
              (q.active === undefined || pr.active === q.active) &&
              (q.ids === undefined || q.ids.includes(pr.id)) &&
              (q.shippable === undefined || pr.shippable === q.shippable) &&
              (q.type === undefined || pr.type === q.type) &&
              (q.url === undefined || pr.url === q.url) &&
              inRange(pr.created, q.created),
          );
        return paginate(ctx, COLLECTION, items);
      },
    }),
    route({
      method: 'GET',
      path: '/v1/products/search',
      params: { query: p.string().required(), limit: p.integer({ min: 1, max: 100 }), page: p.string() },
      handler(ctx) {
        const matches = compileSearch(ctx.params.query, searchSpec);
        return searchPage(ctx, ctx.store.collection<Stripe.Product>(COLLECTION).list(matches));
      },
    }),
    route({
      method: 'GET',
      path: '/v1/products/:id',
      params: {},
      handler(ctx) {
        const found = ctx.store
          .collection<Stripe.Product | Stripe.DeletedProduct>(COLLECTION)
          .get(ctx.path.id!);
        if (!found) throw errors.resourceMissing('product', ctx.path.id!);
        return found;
      },
    }),
    route({
      method: 'POST',
      path: '/v1/products/:id',
      params: updateFields,
      handler(ctx) {
        const before = requireLive<Stripe.Product>(ctx, COLLECTION, ctx.path.id!, 'product');
        const q = ctx.params;
        const after: Stripe.Product = structuredClone(before);
        if (q.active !== undefined) after.active = q.active;
        if (q.default_price !== undefined) {
          const price = requireLive<WirePrice>(ctx, 'price', q.default_price, 'price', 'default_price', 400);
          if (price.product !== before.id) {
            throw errors.invalidParam(
              'default_price',
              `The price ${price.id} does not belong to product ${before.id}.`,
            );
          }
          after.default_price = price.id;
        }
        if (q.description !== undefined) after.description = q.description;
        if (q.images !== undefined) after.images = q.images ?? [];
        if (q.marketing_features !== undefined) after.marketing_features = q.marketing_features ?? [];
        after.metadata = applyMetadata(after.metadata, q.metadata);
        if (q.name !== undefined) after.name = q.name;
        if (q.shippable !== undefined) after.shippable = q.shippable;
        if (q.statement_descriptor !== undefined) after.statement_descriptor = q.statement_descriptor;
        if (q.tax_details !== undefined) {
          after.tax_details =
            q.tax_details === null
              ? null
              : {
                  performance_location: q.tax_details.performance_location ?? null,
                  tax_code: q.tax_details.tax_code ?? null,
                };
        } else if (q.tax_code !== undefined) {
          after.tax_details = {
            performance_location: after.tax_details?.performance_location ?? null,
            tax_code: q.tax_code,
          };
        }
        if (q.unit_label !== undefined) after.unit_label = q.unit_label;
        if (q.url !== undefined) after.url = q.url;
        if (JSON.stringify(after) !== JSON.stringify(before)) after.updated = ctx.now();
        return saveUpdate(ctx, COLLECTION, before, after, 'product.updated');
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/products/:id',
      params: {},
      handler(ctx) {
        const product = requireLive<Stripe.Product>(ctx, COLLECTION, ctx.path.id!, 'product');
        if (ctx.store.collection<WirePrice>('price').list((pr) => pr.product === product.id).length > 0) {
          throw errors.invalidParam(
            undefined,
            'This product cannot be deleted because it has one or more user-created prices.',
          );
        }
        const tombstone: Stripe.DeletedProduct = { id: product.id, object: 'product', deleted: true };
        ctx.store.collection(COLLECTION).markDeleted(product.id, tombstone);
        ctx.emit('product.deleted', product);
        return tombstone;
      },
    }),
  ],
};
