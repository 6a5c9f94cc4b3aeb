import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Db } from '../../src/platform/db/index.ts';
import { TENANT_ROLE, withTenant } from '../../src/platform/tenancy.ts';
import { createTestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/db.ts';

const A = 'dlr_rls_a';
const B = 'dlr_rls_b';

let database: Database;
let db: Db;
let drop: () => Promise<void>;

async function rows<T>(handle: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await handle.execute(query)) as unknown as { rows: T[] }).rows;
}

function insertBuyer(id: string, dealerId: string) {
  return sql`insert into buyers (id, dealer_id, buyer_ref, vehicle_id, type, name, email, address, created_at, updated_at)
    values (${id}, ${dealerId}, ${`ref_${id}`}, 'veh_1', 'consumer', 'Erika Muster', 'erika@example.com',
      '{"line1":"Hauptstr. 1","country":"DE"}'::jsonb, now(), now())`;
}

/** The message of a database error, which drizzle may wrap around the driver's. */
async function refusal(work: Promise<unknown>): Promise<string> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e as Error & { cause?: Error },
  );
  if (!err) throw new Error('expected the database to refuse');
  return `${err.message} ${err.cause?.message ?? ''}`;
}

beforeAll(async () => {
  ({ database, drop } = await createTestDatabase());
  db = database.db;
  await db.execute(
    sql`insert into dealers (id, name, created_at) values (${A}, 'A', now()), (${B}, 'B', now())`,
  );
  await db.execute(insertBuyer('byr_a1', A));
  await db.execute(insertBuyer('byr_a2', A));
  await db.execute(insertBuyer('byr_b1', B));
});

afterAll(async () => {
  await drop();
});

describe('row-level security', () => {
  it('covers every table with a dealer_id: enabled, forced, with a policy', async () => {
    const tables = await rows<{ table: string; enabled: boolean; forced: boolean; policies: number }>(
      db,
      sql`select c.relname as "table", c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
            (select count(*)::int from pg_policies p where p.schemaname = n.nspname and p.tablename = c.relname) as policies
          from information_schema.columns col
          join pg_namespace n on n.nspname = col.table_schema
          join pg_class c on c.relnamespace = n.oid and c.relname = col.table_name
          where col.column_name = 'dealer_id' and col.table_schema = current_schema() and c.relkind in ('r', 'p')
          order by c.relname`,
    );
    // The query must find the tables, or the assertion below would pass on nothing.
    expect(tables.map((t) => t.table)).toEqual(
      expect.arrayContaining(['buyers', 'invoices', 'ledger_entries']),
    );
    const uncovered = tables.filter((t) => !t.enabled || !t.forced || t.policies === 0);
    expect(uncovered).toEqual([]);
  });

  it('shows a dealer only its own rows, even to a query without a WHERE clause', async () => {
    const seen = await withTenant(db, { kind: 'dealer', dealerId: A }, (tx) =>
      rows<{ id: string; dealer_id: string }>(tx, sql`select * from buyers order by id`),
    );
    expect(seen.map((r) => r.id)).toEqual(['byr_a1', 'byr_a2']);
  });

  it('refuses to write a row for another dealer', async () => {
    const message = await refusal(
      withTenant(db, { kind: 'dealer', dealerId: A }, (tx) => tx.execute(insertBuyer('byr_b2', B))),
    );
    expect(message).toMatch(/row-level security/);
    // Another dealer's row is not there to change either.
    const changed = await withTenant(db, { kind: 'dealer', dealerId: A }, (tx) =>
      rows<{ id: string }>(tx, sql`update buyers set name = 'x' where id = 'byr_b1' returning id`),
    );
    expect(changed).toEqual([]);
    const [b1] = await rows<{ name: string }>(db, sql`select name from buyers where id = 'byr_b1'`);
    expect(b1?.name).toBe('Erika Muster');
  });

  it('lets a dealer write its own rows', async () => {
    await withTenant(db, { kind: 'dealer', dealerId: A }, (tx) => tx.execute(insertBuyer('byr_a3', A)));
    await db.execute(sql`delete from buyers where id = 'byr_a3'`);
  });

  it('shows the admin every row', async () => {
    const seen = await withTenant(db, { kind: 'admin' }, (handle) =>
      rows<{ id: string }>(handle, sql`select id from buyers order by id`),
    );
    expect(seen.map((r) => r.id)).toEqual(['byr_a1', 'byr_a2', 'byr_b1']);
  });

  it('fails closed when the tenant role runs without a dealer', async () => {
    const seen = await db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      await tx.execute(sql`select set_config('role', ${TENANT_ROLE}, true)`);
      return rows<{ id: string }>(tx, sql`select id from buyers`);
    });
    expect(seen).toEqual([]);
  });

  it('leaves the connection as it found it, also inside a caller’s transaction', async () => {
    const [who] = await rows<{ role: string }>(db, sql`select current_user as role`);
    const outer = await db.transaction(async (txx) => {
      const tx = txx as unknown as Db;
      const inner = await withTenant(tx, { kind: 'dealer', dealerId: B }, (t) =>
        rows<{ id: string }>(t, sql`select id from buyers`),
      );
      const after = await rows<{ role: string; n: number }>(
        tx,
        sql`select current_user as role, (select count(*)::int from buyers) as n`,
      );
      return { inner, after: after[0] };
    });
    expect(outer.inner.map((r) => r.id)).toEqual(['byr_b1']);
    expect(outer.after).toEqual({ role: who?.role, n: 3 });
    // A pooled connection that ran a dealer's transaction serves the next caller unrestricted.
    for (let i = 0; i < 5; i++) {
      await withTenant(db, { kind: 'dealer', dealerId: A }, (tx) => tx.execute(sql`select 1`));
      const [count] = await rows<{ n: number }>(db, sql`select count(*)::int as n from buyers`);
      expect(count?.n).toBe(3);
    }
  });

  it('migrates a second database on the same server although the role exists', async () => {
    const [one, two] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      const [role] = await rows<{ n: number }>(
        (two as { database: Database }).database.db,
        sql`select count(*)::int as n from pg_roles where rolname = ${TENANT_ROLE}`,
      );
      expect(role?.n).toBe(1);
    } finally {
      await Promise.all([one?.drop(), two?.drop()]);
    }
  });
});

describe('row-level security in the API', () => {
  // The buyer detail's sections (invoices, plans) query by buyer id alone, trusting the buyer's tenant check.
  // An invoice that names the buyer but another dealer — data no code path writes — shows whether the database
  // holds the line on its own.
  it('keeps another dealer’s row out of a dealer’s buyer detail', async () => {
    const t = await createTestApp();
    try {
      const a = await t.createDealer('Reisemobile Nord');
      const b = await t.createDealer('Caravan Süd');
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/payments/customers',
        headers: a.auth,
        payload: {
          name: 'Erika Mustermann',
          email: 'erika@example.de',
          address: { line1: 'Heidestraße 17', postalCode: '51147', city: 'Köln' },
          buyerId: 'B-1001',
          vehicleId: 'VIN-WMO90G000001',
        },
      });
      expect(created.statusCode).toBe(201);
      const buyerId = (created.json() as { id: string }).id;
      await t.database.db.execute(
        sql`insert into invoices (id, dealer_id, buyer_id, vehicle_id, kind, description, amount, days_until_due,
              payment_method_types, status, amount_remaining, created_at, updated_at)
            values ('in_planted', ${b.id}, ${buyerId}, 'VIN-WMO90G000001', 'other', 'planted', 100, 14,
              '["card"]'::jsonb, 'draft', 100, now(), now())`,
      );
      const detail = await t.app.inject({ url: `/api/payments/customers/${buyerId}`, headers: a.auth });
      expect(detail.statusCode).toBe(200);
      expect(detail.json()).toMatchObject({ id: buyerId, invoices: [] });
      const list = await t.app.inject({ url: '/api/payments/customers', headers: a.auth });
      expect((list.json() as { data: { id: string }[] }).data.map((x) => x.id)).toEqual([buyerId]);
    } finally {
      await t.close();
    }
  });
});
