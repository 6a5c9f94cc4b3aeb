/** List and search responses: cursor pagination over newest-first collections. */
import type Stripe from 'stripe';
import { errors } from './errors.ts';
import type { RequestContext } from './resource.ts';
import type { StoredObject } from './store.ts';

export interface ListParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

/**
 * One page of `items` (already filtered, newest first) as `{object:'list', data, has_more, url}`.
 * Cursors are positions, so a cursor object that a filter excludes still works.
 */
export function paginate<T extends StoredObject>(
  ctx: RequestContext<ListParams>,
  collection: string,
  items: T[],
): Stripe.ApiList<T> {
  const { limit = 10, starting_after, ending_before } = ctx.params;
  if (starting_after !== undefined && ending_before !== undefined) {
    throw errors.parametersExclusive(['starting_after', 'ending_before']);
  }
  const cursorId = starting_after ?? ending_before;
  let page: T[];
  let hasMore: boolean;
  if (cursorId === undefined) {
    page = items.slice(0, limit);
    hasMore = items.length > limit;
  } else {
    const param = starting_after !== undefined ? 'starting_after' : 'ending_before';
    const cursor = ctx.store.sortKey(collection, cursorId);
    if (!cursor) throw errors.resourceMissing(collection.replace(/_/g, ' '), cursorId, param, 400);
    const olderThanCursor = (o: T) => {
      const created = o.created ?? 0;
      return (
        created < cursor.created ||
        (created === cursor.created && ctx.store.seqOf(collection, o.id) < cursor.seq)
      );
    };
    if (starting_after !== undefined) {
      const older = items.filter((o) => o.id !== cursorId && olderThanCursor(o));
      page = older.slice(0, limit);
      hasMore = older.length > limit;
    } else {
      const newer = items.filter((o) => o.id !== cursorId && !olderThanCursor(o));
      page = newer.slice(Math.max(0, newer.length - limit));
      hasMore = newer.length > limit;
    }
  }
  return { object: 'list', data: page, has_more: hasMore, url: ctx.url };
}

/** One page of search results; `page` is an opaque offset token. */
export function searchPage<T>(
  ctx: RequestContext<{ limit?: number; page?: string }>,
  items: T[],
): Stripe.ApiSearchResult<T> {
  const limit = ctx.params.limit ?? 10;
  let offset = 0;
  if (ctx.params.page !== undefined) {
    const decoded = /^off_(\d+)$/.exec(Buffer.from(ctx.params.page, 'base64url').toString());
    if (!decoded) throw errors.invalidParam('page', `Invalid page: ${ctx.params.page}`);
    offset = Number(decoded[1]);
  }
  const data = items.slice(offset, offset + limit);
  const hasMore = items.length > offset + limit;
  return {
    object: 'search_result',
    data,
    has_more: hasMore,
    next_page: hasMore ? Buffer.from(`off_${offset + limit}`).toString('base64url') : null,
    url: ctx.url,
    total_count: items.length,
  };
}
