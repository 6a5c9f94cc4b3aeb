import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** Anything that looks like a credential, whether or not we know its value. */
const SECRET_PATTERNS = [
  /\b(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}/g,
  /\bwhsec_[A-Za-z0-9_+/=]{8,}/g,
  /\bmp_(admin|dealer)_[A-Za-z0-9_-]{16,}/g,
  /(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g,
];

/** Replaces known secret values and credential-shaped strings with [redacted]. */
export function scrubSecrets(line: string, knownSecrets: readonly string[]): string {
  let out = line;
  for (const secret of knownSecrets) {
    if (secret.length >= 6) out = out.split(secret).join('[redacted]');
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, ...groups) =>
      match.startsWith('postgres') ? `${groups[0] as string}[redacted]@` : '[redacted]',
    );
  }
  return out;
}

/** Options of the service logger. */
export interface LoggerOptions {
  level?: string;
  /** Secret values from the config; scrubbed from every line, wherever they appear. */
  secrets?: readonly string[];
  /** Where lines go (default stdout); tests pass a collecting stream. */
  destination?: DestinationStream;
}

/**
 * The service logger: pino with header redaction by path, and a last pass over every serialised line
 * that scrubs secret values, so a key inside an error message cannot leak either.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? [];
  return pino(
    {
      level: options.level ?? 'info',
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["stripe-signature"]',
          'headers.authorization',
          '*.apiKey',
          '*.secret',
          '*.password',
        ],
        censor: '[redacted]',
      },
      hooks: {
        streamWrite: (line) => scrubSecrets(line, secrets),
      },
    },
    options.destination ?? pino.destination(1),
  );
}
