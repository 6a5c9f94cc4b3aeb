/**
 * The one module that reads the environment. Everything else receives a typed, validated `Config`.
 * Start-up refuses a configuration that could move real money by mistake (a live key outside live mode)
 * or could not work (live mode without Postgres), with a message naming the variable and the fix.
 */
import path from 'node:path';

/** Where money moves: the embedded emulator, Stripe test mode, or Stripe live mode. */
export type StripeMode = 'offline' | 'test' | 'live';

/** The validated configuration of one service instance. */
export interface Config {
  /** offline: embedded emulator + PGlite; test: Stripe test mode; live: Stripe live mode + Postgres. */
  mode: StripeMode;
  /** HTTP port of the service (PORT, default 3000). */
  port: number;
  /** Interface the service binds to (HOST, default 127.0.0.1). */
  host: string;
  /** Directory for PGlite data, the emulator's state and the generated admin key (DATA_DIR, default ./data). */
  dataDir: string;
  /** Postgres connection string (DATABASE_URL); absent → embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  /** Redis connection string for the shared cache (REDIS_URL); absent → in-process cache. */
  redisUrl: string | undefined;
  /** The admin API key (ADMIN_API_KEY); absent → generated at the first offline start and stored. */
  adminApiKey: string | undefined;
  /** Base URL buyers are sent back to, e.g. after paying a link (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  stripe: {
    /** Secret key used by the SDK; in offline mode a fixed test key the emulator accepts. */
    secretKey: string;
    /** Publishable key, passed to pages that need it (optional). */
    publishableKey: string | undefined;
    /** Webhook signing secrets (STRIPE_WEBHOOK_SECRET, comma-separated during a secret roll). */
    webhookSecrets: string[];
    /** Loopback port of the embedded emulator (STRIPE_EMULATOR_PORT, default 12111). */
    emulatorPort: number;
  };
}

/** A configuration the service refuses to start with; the message names the variable and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The key the service uses against its own emulator; not a secret (the emulator accepts any sk_test_). */
export const OFFLINE_SECRET_KEY = 'sk_test_morelo_offline_emulator';

const SECRET_KEY_RE = /^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}$/;
const PUBLISHABLE_KEY_RE = /^pk_(test|live)_[A-Za-z0-9_]{8,}$/;
const WEBHOOK_SECRET_RE = /^whsec_[A-Za-z0-9_+/=]{8,}$/;

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function keyKind(variable: string, key: string): 'test' | 'live' {
  const match = SECRET_KEY_RE.exec(key);
  if (!match) {
    throw new ConfigError(
      variable,
      'is not a Stripe secret key (expected sk_test_…, sk_live_…, rk_test_… or rk_live_…). Copy it from the Stripe dashboard → Developers → API keys.',
    );
  }
  return match[2] as 'test' | 'live';
}

function parsePort(env: Env, name: string, fallback: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(name, `must be a port number between 0 and 65535, got "${raw}".`);
  }
  return port;
}

function parseUrl(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a URL (expected ${protocols.join(' or ')}…).`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.join(' or ')}, got ${url.protocol}.`);
  }
  return raw;
}

/** Decides the mode from STRIPE_MODE and the keys present. */
function resolveMode(env: Env): StripeMode {
  const explicit = nonEmpty(env, 'STRIPE_MODE');
  if (explicit !== undefined) {
    if (explicit !== 'offline' && explicit !== 'test' && explicit !== 'live') {
      throw new ConfigError('STRIPE_MODE', `must be offline, test or live, got "${explicit}".`);
    }
    return explicit;
  }
  if (nonEmpty(env, 'STRIPE_TEST_SECRET_KEY') || nonEmpty(env, 'STRIPE_SECRET_KEY')) return 'test';
  return 'offline';
}

function resolveStripeKeys(
  env: Env,
  mode: StripeMode,
): { secretKey: string; publishableKey: string | undefined } {
  const secret = nonEmpty(env, 'STRIPE_SECRET_KEY');
  const testSecret = nonEmpty(env, 'STRIPE_TEST_SECRET_KEY');
  const publishable = nonEmpty(env, 'STRIPE_PUBLISHABLE_KEY');
  const testPublishable = nonEmpty(env, 'STRIPE_TEST_PUBLISHABLE_KEY');

  // Every key present is checked, whichever mode uses it: a live key lying around in a test setup is a mistake.
  for (const [name, value] of [
    ['STRIPE_SECRET_KEY', secret],
    ['STRIPE_TEST_SECRET_KEY', testSecret],
  ] as const) {
    if (value === undefined) continue;
    const kind = keyKind(name, value);
    if (kind === 'live' && mode !== 'live') {
      throw new ConfigError(
        name,
        `holds a live key but the mode is ${mode}. Live keys are refused outside live mode: set STRIPE_MODE=live (with DATABASE_URL) or use an sk_test_ key.`,
      );
    }
    if (kind === 'test' && mode === 'live') {
      throw new ConfigError(
        name,
        'holds a test key but STRIPE_MODE=live. Use the sk_live_/rk_live_ key, or set STRIPE_MODE=test.',
      );
    }
  }
  for (const [varName, value] of [
    ['STRIPE_PUBLISHABLE_KEY', publishable],
    ['STRIPE_TEST_PUBLISHABLE_KEY', testPublishable],
  ] as const) {
    if (value === undefined) continue;
    const match = PUBLISHABLE_KEY_RE.exec(value);
    if (!match)
      throw new ConfigError(varName, 'is not a Stripe publishable key (expected pk_test_… or pk_live_…).');
    if ((match[1] === 'live') !== (mode === 'live')) {
      throw new ConfigError(varName, `is a ${match[1]} key but the mode is ${mode}.`);
    }
  }

  if (mode === 'offline') return { secretKey: OFFLINE_SECRET_KEY, publishableKey: undefined };
  if (mode === 'test') {
    const key = testSecret ?? secret;
    if (!key) {
      throw new ConfigError(
        'STRIPE_TEST_SECRET_KEY',
        'is required in test mode (or unset STRIPE_MODE to run offline against the embedded emulator).',
      );
    }
    return { secretKey: key, publishableKey: testPublishable ?? publishable };
  }
  if (!secret) {
    throw new ConfigError('STRIPE_SECRET_KEY', 'is required in live mode (an sk_live_ or rk_live_ key).');
  }
  return { secretKey: secret, publishableKey: publishable };
}

/** Reads and validates the configuration from an environment (process.env at start-up, a plain object in tests). */
export function loadConfig(env: Env): Config {
  const mode = resolveMode(env);
  const keys = resolveStripeKeys(env, mode);
  const databaseUrl = parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (mode === 'live' && !databaseUrl) {
    throw new ConfigError(
      'DATABASE_URL',
      'is required in live mode: the embedded database is for offline and test use only. Set it to a Postgres URL.',
    );
  }
  const webhookSecrets = (nonEmpty(env, 'STRIPE_WEBHOOK_SECRET') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const secret of webhookSecrets) {
    if (!WEBHOOK_SECRET_RE.test(secret)) {
      throw new ConfigError(
        'STRIPE_WEBHOOK_SECRET',
        'must be whsec_… (several separated by commas during a roll).',
      );
    }
  }
  if (mode === 'live' && webhookSecrets.length === 0) {
    throw new ConfigError(
      'STRIPE_WEBHOOK_SECRET',
      'is required in live mode, or no webhook could be verified.',
    );
  }
  const adminApiKey = nonEmpty(env, 'ADMIN_API_KEY');
  if (mode === 'live' && adminApiKey === undefined) {
    throw new ConfigError(
      'ADMIN_API_KEY',
      'is required in live mode (a generated key would have to be printed).',
    );
  }
  if (adminApiKey !== undefined && adminApiKey.length < 24) {
    throw new ConfigError('ADMIN_API_KEY', 'must be at least 24 characters (use a random string).');
  }
  const port = parsePort(env, 'PORT', 3000);
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  return {
    mode,
    port,
    host,
    dataDir: path.resolve(nonEmpty(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    redisUrl: parseUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    adminApiKey,
    publicBaseUrl: parseUrl(env, 'PUBLIC_BASE_URL', ['http:', 'https:']) ?? `http://${host}:${port}`,
    stripe: {
      secretKey: keys.secretKey,
      publishableKey: keys.publishableKey,
      webhookSecrets,
      emulatorPort: parsePort(env, 'STRIPE_EMULATOR_PORT', 12111),
    },
  };
}

/** Every secret value in the config, so the logger can scrub them from any line. */
export function secretsOf(config: Config): string[] {
  const values = [config.stripe.secretKey, ...config.stripe.webhookSecrets, config.adminApiKey];
  if (config.databaseUrl) {
    const password = new URL(config.databaseUrl).password;
    if (password) values.push(decodeURIComponent(password), password);
  }
  return values.filter((v): v is string => Boolean(v) && v !== OFFLINE_SECRET_KEY);
}
