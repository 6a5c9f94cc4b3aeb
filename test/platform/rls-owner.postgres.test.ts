/**
 * Postgres only (collected when DATABASE_URL is set; see vitest.config.ts): production need not run as a superuser.
 * FORCE binds the tables' owner, and joining the tenant role makes the owner a member of it: the service's own
 * unscoped work must still see everything.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/platform/db/index.ts';
import { TENANT_ROLE, withTenant } from '../../src/platform/tenancy.ts';
import { TEST_DATABASE_URL } from '../helpers/db.ts';

const A = 'dlr_rls_a';
const B = 'dlr_rls_b';

async function rows<T>(handle: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await handle.execute(query)) as unknown as { rows: T[] }).rows;
}

function insertBuyer(id: string, dealerId: string) {
  return sql`insert into buyers (id, dealer_id, buyer_ref, vehicle_id, type, name, email, address, created_at, updated_at)
    values (${id}, ${dealerId}, ${`ref_${id}`}, 'veh_1', 'consumer', 'Erika Muster', 'erika@example.com',
      '{"line1":"Hauptstr. 1","country":"DE"}'::jsonb, now(), now())`;
}

describe('row-level security with a non-superuser owner', () => {
  // Production need not run as a superuser. FORCE binds the tables' owner, and joining the tenant role makes the
  // owner a member of it: the service's own unscoped work must still see everything.
  it('lets a non-superuser owner migrate, work unscoped and switch to a dealer', async () => {
    const name = `mp_owner_${randomBytes(6).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const server = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await server.connect();
    try {
      await server.query(`CREATE ROLE ${name} LOGIN CREATEROLE PASSWORD '${password}'`);
      await server.query(`CREATE DATABASE ${name} OWNER ${name}`);
      // From Postgres 16 only a role's creator (or an admin of it) may grant it, and other test databases have
      // created it already: an administrator's grant stands in, as the migration's error message asks for.
      const shown = await server.query<{ server_version_num: string }>('SHOW server_version_num');
      if (Number(shown.rows[0]?.server_version_num) >= 160000)
        await server.query(`GRANT ${TENANT_ROLE} TO ${name}`);
      const url = new URL(TEST_DATABASE_URL as string);
      url.username = name;
      url.password = password;
      url.pathname = `/${name}`;
      const owned = await openDatabase({ url: url.toString() });
      try {
        await owned.migrate();
        const odb = owned.db;
        await odb.execute(
          sql`insert into dealers (id, name, created_at) values (${A}, 'A', now()), (${B}, 'B', now())`,
        );
        await odb.execute(insertBuyer('byr_a1', A));
        await odb.execute(insertBuyer('byr_b1', B));
        const all = await rows<{ id: string }>(odb, sql`select id from buyers order by id`);
        expect(all.map((r) => r.id)).toEqual(['byr_a1', 'byr_b1']);
        const own = await withTenant(odb, { kind: 'dealer', dealerId: B }, (tx) =>
          rows<{ id: string }>(tx, sql`select id from buyers`),
        );
        expect(own.map((r) => r.id)).toEqual(['byr_b1']);
      } finally {
        await owned.close();
      }
    } finally {
      await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await server.query(`DROP ROLE IF EXISTS ${name}`);
      await server.end();
    }
  });
});
