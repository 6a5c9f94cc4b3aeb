import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, OFFLINE_SECRET_KEY, secretsOf } from '../../src/config.ts';

const TEST_KEY = 'sk_test_51Abcdefghijklmnop';
const LIVE_KEY = 'sk_live_51Abcdefghijklmnop';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

describe('config', () => {
  it('runs offline against the emulator when no key is set, with the documented defaults', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('offline');
    expect(config.stripe.secretKey).toBe(OFFLINE_SECRET_KEY);
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.stripe.emulatorPort).toBe(12111);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir.endsWith('/data')).toBe(true);
  });

  it('switches to test mode when a test key is present', () => {
    expect(loadConfig({ STRIPE_TEST_SECRET_KEY: TEST_KEY }).mode).toBe('test');
    expect(loadConfig({ STRIPE_SECRET_KEY: TEST_KEY }).stripe.secretKey).toBe(TEST_KEY);
  });

  it('refuses a live key outside live mode, naming the variable and the fix', () => {
    const err = refusal({ STRIPE_SECRET_KEY: LIVE_KEY });
    expect(err.variable).toBe('STRIPE_SECRET_KEY');
    expect(err.message).toMatch(/live key/);
    expect(err.message).toMatch(/STRIPE_MODE=live/);
    expect(err.message).not.toContain(LIVE_KEY);
    expect(
      refusal({ STRIPE_MODE: 'offline', STRIPE_TEST_SECRET_KEY: 'rk_live_51Abcdefghijklmnop' }).variable,
    ).toBe('STRIPE_TEST_SECRET_KEY');
  });

  it('refuses a test key in live mode', () => {
    const err = refusal({
      STRIPE_MODE: 'live',
      STRIPE_SECRET_KEY: TEST_KEY,
      DATABASE_URL: 'postgres://x@localhost/db',
    });
    expect(err.variable).toBe('STRIPE_SECRET_KEY');
    expect(err.message).toMatch(/test key/);
  });

  it('refuses live mode without DATABASE_URL', () => {
    const err = refusal({
      STRIPE_MODE: 'live',
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijkl',
      ADMIN_API_KEY: 'a'.repeat(32),
    });
    expect(err.variable).toBe('DATABASE_URL');
  });

  it('accepts a complete live configuration', () => {
    const config = loadConfig({
      STRIPE_MODE: 'live',
      STRIPE_SECRET_KEY: LIVE_KEY,
      STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijkl',
      DATABASE_URL: 'postgres://u:pw@db/morelo',
      ADMIN_API_KEY: 'a'.repeat(32),
    });
    expect(config.mode).toBe('live');
    expect(secretsOf(config)).toEqual(
      expect.arrayContaining([LIVE_KEY, 'whsec_abcdefghijkl', 'pw', 'a'.repeat(32)]),
    );
  });

  it('refuses keys of the wrong shape', () => {
    expect(refusal({ STRIPE_SECRET_KEY: 'pk_test_51Abcdefghijklmnop' }).variable).toBe('STRIPE_SECRET_KEY');
    expect(refusal({ STRIPE_TEST_SECRET_KEY: 'hunter2' }).variable).toBe('STRIPE_TEST_SECRET_KEY');
    expect(refusal({ STRIPE_WEBHOOK_SECRET: 'secret' }).variable).toBe('STRIPE_WEBHOOK_SECRET');
    expect(refusal({ STRIPE_PUBLISHABLE_KEY: 'pk_live_51Abcdefghijklmnop' }).variable).toBe(
      'STRIPE_PUBLISHABLE_KEY',
    );
    expect(refusal({ PORT: 'eighty' }).variable).toBe('PORT');
    expect(refusal({ DATABASE_URL: 'mysql://x' }).variable).toBe('DATABASE_URL');
    expect(refusal({ STRIPE_MODE: 'production' }).variable).toBe('STRIPE_MODE');
  });

  it('accepts two webhook secrets during a secret roll', () => {
    const config = loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_newsecret123,whsec_oldsecret456' });
    expect(config.stripe.webhookSecrets).toEqual(['whsec_newsecret123', 'whsec_oldsecret456']);
  });
});
