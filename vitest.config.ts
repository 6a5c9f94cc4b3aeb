import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that need a real Postgres server (roles, logins) run in the Postgres pass only — not skipped, absent.
    exclude: process.env.DATABASE_URL ? [] : ['test/**/*.postgres.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: files run two at a time, each with its own database.
    maxWorkers: 2,
  },
});
