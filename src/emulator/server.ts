/**
 * The HTTP face of the emulator: one request pipeline for every route.
 *
 *   Request-Id → auth → route → decode form → idempotency → validate → handler → expand → respond
 *
 * Everything that goes wrong leaves as a Stripe-shaped error, so the official SDK raises the same
 * error classes it would against api.stripe.com.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorCore } from './core.ts';
import { ApiError, errors } from './errors.ts';
import { API_VERSION } from './events.ts';
import { applyExpansions } from './expand.ts';
import { decodeForm, type FormHash, jsonToForm, mergeForms } from './form.ts';
import { canonicalJson } from './idempotency.ts';
import { newId } from './ids.ts';
import { commonFields, readFields } from './params.ts';
import { RawResponse, type RequestContext } from './resource.ts';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Handles `/_emulator/*` after auth; returns the response body. */
export type ControlHandler = (method: string, path: string, params: FormHash) => Promise<unknown>;

/** Checks `Authorization`; one account, every `sk_test_` key sees it. */
export function authenticate(header: string | undefined): void {
  if (!header) {
    throw errors.authentication(
      "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    );
  }
  let key = '';
  const [scheme, credentials = ''] = header.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') key = credentials;
  else if (scheme?.toLowerCase() === 'basic')
    key = Buffer.from(credentials, 'base64').toString().split(':')[0] ?? '';
  if (/^sk_test_\S+$/.test(key)) return;
  if (/^(sk|rk)_live_/.test(key)) {
    throw errors.authentication(
      'The Stripe emulator only accepts test mode secret keys (sk_test_...); a live mode key was provided.',
    );
  }
  const shown =
    key.length > 12
      ? `${key.slice(0, 8)}********${key.slice(-4)}`
      : key
        ? `${key.slice(0, 3)}***`
        : '(empty)';
  throw errors.authentication(`Invalid API Key provided: ${shown}`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(errors.invalidParam(undefined, 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(req: IncomingMessage, raw: string): FormHash {
  if (!raw) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw errors.invalidParam(undefined, 'Invalid JSON body.');
    }
    const form = jsonToForm(parsed);
    if (typeof form !== 'object' || Array.isArray(form))
      throw errors.invalidParam(undefined, 'The JSON body must be an object.');
    return form;
  }
  return decodeForm(raw);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.statusCode = status;
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function errorBody(err: ApiError, requestId: string): string {
  return JSON.stringify(
    { error: { ...err.body, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } },
    null,
    2,
  );
}

/** The node:http request listener. */
export function createRequestListener(
  core: EmulatorCore,
  control: ControlHandler,
  log: (level: 'info' | 'warn' | 'error', msg: string) => void,
) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = newId('req', 14);
    res.setHeader('Request-Id', requestId);
    res.setHeader('Stripe-Version', API_VERSION);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, no-store');
    const method = (req.method ?? 'GET').toUpperCase();
    let pending: { complete(status: number, body: string): void; release(): void } | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const matched = core.match(method, url.pathname);
      if (!matched?.route.public) authenticate(req.headers.authorization);
      const raw = await readBody(req);
      const query = decodeForm(url.search.slice(1));

      // Resources may add their own test helpers under /_emulator/ as ordinary routes.
      if (url.pathname.startsWith('/_emulator/') && !matched) {
        const body = await control(method, url.pathname, mergeForms(query, parseBody(req, raw)));
        send(res, 200, JSON.stringify(body, null, 2));
        return;
      }

      if (!matched) throw errors.unrecognizedUrl(method, url.pathname);
      const form = method === 'POST' ? mergeForms(query, parseBody(req, raw)) : query;

      const keyHeader = req.headers['idempotency-key'];
      const idempotencyKey =
        method === 'POST' && typeof keyHeader === 'string' && keyHeader ? keyHeader : null;
      if (idempotencyKey !== null) {
        if (idempotencyKey.length > 255) {
          throw errors.invalidParam(undefined, 'Idempotency-Key must be at most 255 characters long.');
        }
        res.setHeader('Idempotency-Key', idempotencyKey);
        const fingerprint = canonicalJson({ method, path: url.pathname, form });
        const decision = core.idempotency.begin(idempotencyKey, fingerprint, requestId, core.clock.now());
        if (decision.kind === 'replay') {
          send(res, decision.result.status, decision.result.body, {
            'Idempotent-Replayed': 'true',
            'Original-Request': decision.result.requestId,
          });
          return;
        }
        pending = decision;
      }

      const params = readFields({ ...matched.route.params, ...commonFields }, form);
      let status = 200;
      let body: string;
      try {
        const ctx: RequestContext<typeof params> = {
          ...core.context({ id: requestId, idempotency_key: idempotencyKey }),
          params,
          path: matched.path,
          requestId,
          idempotencyKey,
          url: url.pathname,
        };
        let result = await matched.route.handler(ctx);
        if (result instanceof RawResponse) {
          pending?.complete(result.status, String(result.body));
          pending = undefined;
          res.setHeader('Content-Type', result.contentType);
          for (const [k, v] of Object.entries(result.headers)) res.setHeader(k, v);
          res.statusCode = result.status;
          res.setHeader('Content-Length', Buffer.byteLength(result.body));
          res.end(result.body);
          return;
        }
        const expand = (params as { expand?: string[] }).expand;
        if (expand?.length) result = applyExpansions(structuredClone(result), expand, core.lookup);
        body = JSON.stringify(result, null, 2);
      } catch (err) {
        const apiErr = err instanceof ApiError ? err : errors.internal();
        if (!(err instanceof ApiError))
          log('error', `Stripe emulator: ${method} ${url.pathname} failed: ${(err as Error).stack ?? err}`);
        status = apiErr.status;
        body = errorBody(apiErr, requestId);
        for (const [k, v] of Object.entries(apiErr.headers)) res.setHeader(k, v);
      }
      // The endpoint ran: its outcome, success or error, is what the key replays from now on.
      pending?.complete(status, body);
      pending = undefined;
      send(res, status, body);
    } catch (err) {
      // Failed before the endpoint ran (auth, routing, validation, key conflicts): nothing is stored.
      pending?.release();
      const apiErr = err instanceof ApiError ? err : errors.internal();
      if (!(err instanceof ApiError))
        log('error', `Stripe emulator: ${method} ${req.url} failed: ${(err as Error).stack ?? err}`);
      if (!res.headersSent) send(res, apiErr.status, errorBody(apiErr, requestId), apiErr.headers);
    }
  };
}
