/**
 * Idempotency keys as Stripe keeps them: the first request with a key "reserves" it; once its handler
 * has run, status and body are stored and every later request with the same key and parameters gets a
 * replay. Same key, other parameters (or another endpoint) → 400 `idempotency_error`; same key while the
 * first is still running → 409. Requests that fail validation store nothing (as on Stripe: no endpoint
 * began executing). Keys live 24 hours of emulator time.
 */
import { errors } from './errors.ts';

const KEY_TTL_SECONDS = 24 * 60 * 60;

/** A completed idempotent request. */
export interface IdempotentResult {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
  createdAt: number;
}

/** What the pipeline should do with a keyed request. */
export type IdempotencyDecision =
  | { kind: 'replay'; result: IdempotentResult }
  | { kind: 'proceed'; complete(status: number, body: string): void; release(): void };

export class IdempotencyStore {
  private done = new Map<string, IdempotentResult>();
  private running = new Map<string, string>();

  constructor(private readonly onChange: () => void = () => {}) {}

  /**
   * Looks the key up for a request with this fingerprint (method, path and canonical params). Throws
   * the Stripe error for a mismatch or a key in use.
   */
  begin(key: string, fingerprint: string, requestId: string, now: number): IdempotencyDecision {
    this.prune(now);
    const prior = this.done.get(key);
    if (prior) {
      if (prior.fingerprint !== fingerprint) throw errors.idempotencyMismatch(key);
      return { kind: 'replay', result: prior };
    }
    const runningFingerprint = this.running.get(key);
    if (runningFingerprint !== undefined) {
      if (runningFingerprint !== fingerprint) throw errors.idempotencyMismatch(key);
      throw errors.idempotencyInUse(key);
    }
    this.running.set(key, fingerprint);
    let settled = false;
    return {
      kind: 'proceed',
      complete: (status, body) => {
        if (settled) return;
        settled = true;
        this.running.delete(key);
        this.done.set(key, { fingerprint, status, body, requestId, createdAt: now });
        this.onChange();
      },
      release: () => {
        if (settled) return;
        settled = true;
        this.running.delete(key);
      },
    };
  }

  private prune(now: number): void {
    for (const [key, r] of this.done) if (r.createdAt + KEY_TTL_SECONDS < now) this.done.delete(key);
  }

  snapshot(): Record<string, IdempotentResult> {
    return Object.fromEntries(this.done);
  }
  restore(snap: Record<string, IdempotentResult> | undefined): void {
    this.done = new Map(Object.entries(snap ?? {}));
    this.running.clear();
  }
}

/** A stable text form of params: keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
