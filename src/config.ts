/**
 * The one module that reads the environment. Everything else receives a typed, validated `Config`.
 * Start-up refuses a configuration that could move real money by mistake (a live key outside live mode)
 * or could not work (live mode without Postgres), with a message naming the variable and the fix.
 */
import path from 'node:path';

/** Where money moves: the embedded emulator, Stripe test mode, or Stripe live mode. */
export type StripeMode = 'offline' | 'test' | 'live';

/** A mailbox: an address with an optional display name ("Reisemobile Nord Mahnwesen <mahnung@example.de>"). */
export interface MailAddress {
  /** Display name, shown by mail clients beside the address; absent for a plain address. */
  name: string | undefined;
  /** The addr-spec, e.g. mahnung@example.de. */
  address: string;
}

/** Outgoing e-mail of dunning letters (SMTP_URL and friends). */
export interface SmtpConfig {
  /** Host of the SMTP server (from SMTP_URL). */
  host: string;
  /** Port (from SMTP_URL; default 587 for smtp://, 465 for smtps://). */
  port: number;
  /** smtps://: TLS from the first byte; smtp://: STARTTLS (required when logging in to a remote host). */
  secure: boolean;
  /** Login name, percent-decoded; absent → no AUTH (a relay that trusts our network). */
  user: string | undefined;
  /** Login password, percent-decoded; a secret (see secretsOf). */
  password: string | undefined;
  /** Sender of every letter (SMTP_FROM). */
  from: MailAddress;
  /** Where buyers' replies go, if not to the sender (SMTP_REPLY_TO). */
  replyTo: MailAddress | undefined;
  /** Blind copies of every letter, e.g. the dealer's archive mailbox (SMTP_BCC, comma-separated). */
  bcc: string[];
}

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
  /** SMTP delivery of dunning letters; absent → letters stay in the admin outbox (GET /api/admin/letters). */
  smtp: SmtpConfig | undefined;
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

// Deliberately narrower than RFC 5322: an ASCII local part and a domain of at least two labels
// (letters of any script, so Umlaut domains pass; nodemailer encodes them).
const MAIL_ADDRESS_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+$/u;
const NAMED_ADDRESS_RE = /^(.*?)\s*<([^<>]*)>$/s;

/** Parses "Name <address>" or a plain address; the name may be quoted (it may then hold a comma). */
function parseMailbox(name: string, raw: string): MailAddress {
  const fix = 'Use "Name <mahnung@example.de>" or a plain address.';
  const named = NAMED_ADDRESS_RE.exec(raw);
  let display = (named?.[1] ?? '').trim();
  const address = (named ? (named[2] ?? '') : raw).trim();
  if (display.length >= 2 && display.startsWith('"') && display.endsWith('"')) {
    display = display.slice(1, -1).trim();
  }
  if (!MAIL_ADDRESS_RE.test(address)) {
    throw new ConfigError(name, `is not an e-mail address (got "${address}"). ${fix}`);
  }
  // A line break would let the value write mail headers of its own.
  if (/[\r\n<>"]/.test(display)) {
    throw new ConfigError(name, `has a display name with a line break, quote or angle bracket. ${fix}`);
  }
  return { name: display || undefined, address };
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('SMTP_URL', 'has a malformed %-escape (write % itself as %25).');
  }
}

/**
 * SMTP_URL and its companions. The URL holds the password, so no message here ever repeats the URL.
 * A companion set without SMTP_URL is refused: letters would silently stay unsent.
 */
function resolveSmtp(env: Env): SmtpConfig | undefined {
  const raw = nonEmpty(env, 'SMTP_URL');
  const from = nonEmpty(env, 'SMTP_FROM');
  const replyTo = nonEmpty(env, 'SMTP_REPLY_TO');
  const bcc = nonEmpty(env, 'SMTP_BCC');
  if (raw === undefined) {
    const companions = { SMTP_FROM: from, SMTP_REPLY_TO: replyTo, SMTP_BCC: bcc };
    const orphan = Object.entries(companions).find(([, value]) => value !== undefined)?.[0];
    if (orphan) {
      throw new ConfigError(
        'SMTP_URL',
        `is required when ${orphan} is set (e.g. smtps://user:password@mail.example.de:465); unset ${orphan} to keep letters in the admin outbox.`,
      );
    }
    return undefined;
  }
  const shape =
    'smtp://user:password@mail.example.de:587 (STARTTLS) or smtps://user:password@mail.example.de:465 (TLS)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      'SMTP_URL',
      `is not a URL. Expected ${shape}; percent-encode special characters in the password.`,
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError(
      'SMTP_URL',
      `must start with smtp:// or smtps://, got ${url.protocol}//. Expected ${shape}.`,
    );
  }
  // smtp: is not a WHATWG "special" scheme, so the host stays percent-encoded (an Umlaut domain) and
  // an IPv6 literal keeps its brackets; nodemailer wants neither.
  const host = safeDecode(url.hostname).replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new ConfigError('SMTP_URL', `has no host. Expected ${shape}.`);
  if (url.port === '0') throw new ConfigError('SMTP_URL', `has port 0. Expected ${shape}.`);
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw new ConfigError(
      'SMTP_URL',
      `must end after host and port (no path or ?options: the scheme decides TLS; percent-encode / ? # in the password). Expected ${shape}.`,
    );
  }
  const user = url.username ? safeDecode(url.username) : undefined;
  const password = url.password ? safeDecode(url.password) : undefined;
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigError(
      'SMTP_URL',
      `needs both a user name and a password, or neither (for a relay without login). Expected ${shape}.`,
    );
  }
  if (from === undefined) {
    throw new ConfigError(
      'SMTP_FROM',
      'is required with SMTP_URL: the sender of the letters, e.g. "Reisemobile Nord Mahnwesen <mahnung@example.de>".',
    );
  }
  const secure = url.protocol === 'smtps:';
  return {
    host,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    user,
    password,
    from: parseMailbox('SMTP_FROM', from),
    replyTo: replyTo === undefined ? undefined : parseMailbox('SMTP_REPLY_TO', replyTo),
    bcc: (bcc ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean)
      .map((a) => {
        if (!MAIL_ADDRESS_RE.test(a)) {
          throw new ConfigError(
            'SMTP_BCC',
            `is not a list of e-mail addresses (got "${a}"). Use plain addresses separated by commas, e.g. archiv@example.de.`,
          );
        }
        return a;
      }),
  };
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
    smtp: resolveSmtp(env),
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
  if (config.smtp?.password) {
    // The decoded form is what goes over the wire; the encoded one is how SMTP_URL usually spells it.
    values.push(config.smtp.password, encodeURIComponent(config.smtp.password));
  }
  return values.filter((v): v is string => Boolean(v) && v !== OFFLINE_SECRET_KEY);
}
