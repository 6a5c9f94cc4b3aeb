import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, OFFLINE_SECRET_KEY, secretsOf } from '../../src/config.ts';

const TEST_KEY = 'sk_test_51Abcdefghijklmnop';
// Built at run time so no live-looking key sits in the repository (it is a made-up value).
const LIVE_KEY = ['sk', 'live', '51Abcdefghijklmnop'].join('_');

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
      refusal({
        STRIPE_MODE: 'offline',
        STRIPE_TEST_SECRET_KEY: ['rk', 'live', '51Abcdefghijklmnop'].join('_'),
      }).variable,
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
  describe('SMTP for dunning letters', () => {
    const SMTP_PASSWORD = 'p@ss:wört/1';
    const SMTP_URL = `smtp://mahnung%40reisemobile-nord.de:${encodeURIComponent(SMTP_PASSWORD)}@mail.example.de`;

    it('is off unless SMTP_URL is set, also in live mode: letters then stay in the admin outbox', () => {
      expect(loadConfig({}).smtp).toBeUndefined();
      const live = loadConfig({
        STRIPE_MODE: 'live',
        STRIPE_SECRET_KEY: LIVE_KEY,
        STRIPE_WEBHOOK_SECRET: 'whsec_abcdefghijkl',
        DATABASE_URL: 'postgres://u:pw@db/morelo',
        ADMIN_API_KEY: 'a'.repeat(32),
      });
      expect(live.smtp).toBeUndefined();
    });

    it('reads server, login (percent-decoded), sender, reply-to and archive copies', () => {
      const config = loadConfig({
        SMTP_URL,
        SMTP_FROM: '"Reisemobile Nord, Mahnwesen" <mahnung@reisemobile-nord.de>',
        SMTP_REPLY_TO: 'Buchhaltung <buchhaltung@reisemobile-nord.de>',
        SMTP_BCC: 'archiv@reisemobile-nord.de, revision@reisemobile-nord.de',
      });
      expect(config.smtp).toEqual({
        host: 'mail.example.de',
        port: 587,
        secure: false,
        user: 'mahnung@reisemobile-nord.de',
        password: SMTP_PASSWORD,
        from: { name: 'Reisemobile Nord, Mahnwesen', address: 'mahnung@reisemobile-nord.de' },
        replyTo: { name: 'Buchhaltung', address: 'buchhaltung@reisemobile-nord.de' },
        bcc: ['archiv@reisemobile-nord.de', 'revision@reisemobile-nord.de'],
      });
      const tls = loadConfig({ SMTP_URL: 'smtps://relay.example.de', SMTP_FROM: 'mahnung@müller-mobile.de' });
      expect(tls.smtp).toMatchObject({
        host: 'relay.example.de',
        port: 465,
        secure: true,
        user: undefined,
        password: undefined,
        from: { name: undefined, address: 'mahnung@müller-mobile.de' },
        replyTo: undefined,
        bcc: [],
      });
      expect(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:2525', SMTP_FROM: 'a@b.de' }).smtp?.port).toBe(2525);
    });

    it('hands the SMTP password to the logger as a secret, decoded and as written in the URL', () => {
      const config = loadConfig({ SMTP_URL, SMTP_FROM: 'mahnung@reisemobile-nord.de' });
      expect(secretsOf(config)).toEqual(
        expect.arrayContaining([SMTP_PASSWORD, encodeURIComponent(SMTP_PASSWORD)]),
      );
    });

    it('refuses a bad SMTP setting, naming the variable and the fix, never echoing the password', () => {
      const from = { SMTP_FROM: 'mahnung@reisemobile-nord.de' };
      const cases: [Record<string, string>, string, RegExp][] = [
        [{ SMTP_URL: SMTP_URL.replace('smtp:', 'http:'), ...from }, 'SMTP_URL', /smtp:\/\/ or smtps:\/\//],
        [{ SMTP_URL: 'mail.example.de:587', ...from }, 'SMTP_URL', /smtps?:\/\//],
        [{ SMTP_URL: `smtp://u:${SMTP_PASSWORD}@mail.example.de`, ...from }, 'SMTP_URL', /percent-encode/],
        [{ SMTP_URL: `${SMTP_URL}:587/x?secure=false`, ...from }, 'SMTP_URL', /no path/],
        [{ SMTP_URL: 'smtp://user-only@mail.example.de', ...from }, 'SMTP_URL', /user name and a password/],
        [{ SMTP_URL: 'smtp://u:50%zz@mail.example.de', ...from }, 'SMTP_URL', /%25/],
        [{ SMTP_URL }, 'SMTP_FROM', /required with SMTP_URL/],
        [{ SMTP_URL, SMTP_FROM: 'Mahnwesen' }, 'SMTP_FROM', /Name <mahnung@example\.de>/],
        [{ SMTP_URL, SMTP_FROM: 'Mahnwesen <mahnung@localhost>' }, 'SMTP_FROM', /not an e-mail address/],
        [{ SMTP_URL, ...from, SMTP_REPLY_TO: 'buchhaltung' }, 'SMTP_REPLY_TO', /not an e-mail address/],
        [{ SMTP_URL, ...from, SMTP_BCC: 'archiv@x.de; revision@x.de' }, 'SMTP_BCC', /separated by commas/],
        [from, 'SMTP_URL', /required when SMTP_FROM is set/],
        [{ SMTP_BCC: 'archiv@x.de' }, 'SMTP_URL', /required when SMTP_BCC is set/],
      ];
      for (const [env, variable, fix] of cases) {
        const err = refusal(env);
        expect(err.variable, JSON.stringify(env)).toBe(variable);
        expect(err.message).toMatch(fix);
        expect(err.message).not.toContain(SMTP_PASSWORD);
        expect(err.message).not.toContain(encodeURIComponent(SMTP_PASSWORD));
      }
    });
  });
});
