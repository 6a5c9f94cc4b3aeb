import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrubSecrets } from '../../src/platform/logger.ts';
import { createTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.ts';

const WEBHOOK_SECRET = 'whsec_loggingtestsecret0001';
// Made up, and built at run time so no live-looking key sits in the repository.
const FOREIGN_LIVE_KEY = ['sk', 'live', '51Zyxwvutsrqponmlk'].join('_');

describe('secrets never reach a log line', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  });
  afterAll(() => t.close());

  it('scrubs configured secrets and credential-shaped strings from every line', async () => {
    const dealer = await t.createDealer('Secret Test');
    await t.app.inject({ method: 'GET', url: '/api/payments/customers', headers: dealer.auth });
    await t.app.inject({
      method: 'GET',
      url: '/api/payments/customers',
      headers: { authorization: `Bearer ${FOREIGN_LIVE_KEY}` },
    });
    // A careless log call with the whole config and a key inside a message must still come out clean.
    t.app.log.info({ config: t.config }, `using ${WEBHOOK_SECRET} and ${TEST_ADMIN_KEY}`);
    t.app.log.error(new Error(`Stripe said no to ${FOREIGN_LIVE_KEY}`));

    const all = t.logLines.join('\n');
    expect(t.logLines.length).toBeGreaterThan(3);
    for (const secret of [WEBHOOK_SECRET, TEST_ADMIN_KEY, FOREIGN_LIVE_KEY, dealer.apiKey]) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('[redacted]');
  });

  it('logs the request id with each request line', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^req_/);
    expect(t.logLines.some((l) => l.includes(`"reqId":"${id}"`))).toBe(true);
  });

  it('scrubs a Postgres password from a URL', () => {
    expect(scrubSecrets('connect postgres://app:s3cr3t@db:5432/x failed', [])).toBe(
      'connect postgres://app:[redacted]@db:5432/x failed',
    );
  });
});
