-- Row-level security: the database's own line of tenant isolation behind tenantFilter's WHERE clause.
-- Dealer-scoped work runs through withTenant (src/platform/tenancy.ts): one transaction as the role below, with
-- app.dealer_id naming the dealer, so a query that forgot its WHERE clause still sees only that dealer's rows.
-- Superusers (tests, CI, PGlite) bypass RLS even when forced; for them only the tenant role's work is filtered.
-- FORCE matters when the service connects as the tables' owner without superuser: the owner is bound too, and
-- its own unscoped work (webhooks, schedulers, the admin) is what the service_unscoped policy lets through.

-- Roles are cluster-wide and tests create one database per file on one server, so the role may exist already,
-- or be in the middle of being created by another database's migration (which surfaces as unique_violation).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'morelo_tenant') THEN
    CREATE ROLE morelo_tenant NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

-- withTenant switches to the role, which needs membership unless the service runs as a superuser.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'morelo_tenant', 'MEMBER') THEN
    GRANT morelo_tenant TO CURRENT_USER;
  END IF;
EXCEPTION
  WHEN unique_violation THEN
    NULL;
  WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'role % may not join morelo_tenant; an administrator must run: GRANT morelo_tenant TO %',
      current_user, current_user;
END $$;

-- Every table with a dealer_id column (test/platform/rls.test.ts fails for a new one without policies):
--   dealer_isolation  rows of the dealer named in app.dealer_id;
--   service_unscoped  every row when no dealer is named (the service's own work) — but never for the tenant role,
--                     so a forgotten set_config fails closed (no rows) instead of open. The role is tested by
--                     name, not with `TO`: a policy for a role also binds its members, and the service is one.
-- set_config(..., true) leaves '' behind after the transaction, hence nullif.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'api_keys', 'buyers', 'invoices', 'ledger_entries', 'payment_links', 'financing_plans',
    'dunning_policy_overrides', 'dunning_creditor_profiles', 'dunning_cases', 'dunning_letters',
    'dunning_buyer_pauses', 'dunning_audit'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      $p$CREATE POLICY dealer_isolation ON %I
           USING (dealer_id = nullif(current_setting('app.dealer_id', true), ''))
           WITH CHECK (dealer_id = nullif(current_setting('app.dealer_id', true), ''))$p$, t);
    EXECUTE format(
      $p$CREATE POLICY service_unscoped ON %I
           USING (nullif(current_setting('app.dealer_id', true), '') IS NULL AND current_user <> 'morelo_tenant')
           WITH CHECK (nullif(current_setting('app.dealer_id', true), '') IS NULL AND current_user <> 'morelo_tenant')$p$,
      t);
  END LOOP;
END $$;

-- An instalment has no dealer_id of its own: it belongs to whoever owns its plan (the buyer detail reads it).
ALTER TABLE financing_instalments ENABLE ROW LEVEL SECURITY;
ALTER TABLE financing_instalments FORCE ROW LEVEL SECURITY;
CREATE POLICY dealer_isolation ON financing_instalments
  USING (EXISTS (SELECT 1 FROM financing_plans p WHERE p.id = plan_id))
  WITH CHECK (EXISTS (SELECT 1 FROM financing_plans p WHERE p.id = plan_id));
CREATE POLICY service_unscoped ON financing_instalments
  USING (nullif(current_setting('app.dealer_id', true), '') IS NULL AND current_user <> 'morelo_tenant')
  WITH CHECK (nullif(current_setting('app.dealer_id', true), '') IS NULL AND current_user <> 'morelo_tenant');

-- What dealer-scoped work may touch. Not api_keys (key hashes are never a dealer's business: the tenant role
-- only has policies there for completeness), and no table without a dealer, such as settings or the inbox.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  buyers, invoices, ledger_entries, payment_links, financing_plans, financing_instalments,
  dunning_policy_overrides, dunning_creditor_profiles, dunning_cases, dunning_letters,
  dunning_buyer_pauses, dunning_audit
  TO morelo_tenant;
GRANT USAGE ON SEQUENCE dunning_audit_seq_seq TO morelo_tenant;
