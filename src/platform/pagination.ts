import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { ValidationError } from './errors.ts';

/** Query parameters every list takes. */
export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Page size, 1–100 (default 20).'),
  cursor: z.string().min(1).max(200).optional().describe('nextCursor of the previous page.'),
});

/** The contract's list answer. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() });
}

/** Position after which the next page starts: newest first by (createdAt, id). */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

/** An opaque cursor; callers must not build it themselves. */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
}

/** Reads a cursor back; a tampered one is a 400 naming `cursor`. */
export function decodeCursor(cursor: string): CursorPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(createdAt);
    if (typeof id !== 'string' || Number.isNaN(date.getTime())) throw new Error('bad cursor');
    return { createdAt: date, id };
  } catch {
    throw new ValidationError('cursor is not valid; pass nextCursor from the previous page.', [
      { field: 'query.cursor', message: 'invalid cursor' },
    ]);
  }
}

/** Turns limit+1 fetched rows into a page. */
export function toPage<R extends { createdAt: Date; id: string }, V>(
  rows: R[],
  limit: number,
  view: (row: R) => V,
): { data: V[]; hasMore: boolean; nextCursor: string | null } {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows.at(-1);
  return { data: pageRows.map(view), hasMore, nextCursor: hasMore && last ? encodeCursor(last) : null };
}

/**
 * The WHERE clause of the next page, newest first: rows strictly after the cursor in (createdAt, id) order.
 * Undefined for the first page.
 */
export function afterCursor(createdAt: PgColumn, id: PgColumn, cursor: string | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const after = decodeCursor(cursor);
  return or(lt(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), lt(id, after.id)));
}

/** The ORDER BY of every list: newest first, id as the tie-break. */
export function newestFirst(createdAt: PgColumn, id: PgColumn): SQL[] {
  return [desc(createdAt), desc(id)];
}
