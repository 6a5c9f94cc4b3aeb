import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../platform/db/index.ts';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.ts';
import { resolveApiKey, type Scope } from './keys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's scope; set for every /api/ route before its handler runs. */
    scope: Scope;
    /** The id of the API key used (idempotency keys are scoped per API key). */
    apiKeyId: string;
  }
}

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

/** Every route under /api/ needs a key; the resolved scope is put on the request. */
export function installAuth(app: FastifyInstance, db: Db): void {
  app.decorateRequest('scope', null as never);
  app.decorateRequest('apiKeyId', '');
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    const match = BEARER_RE.exec(request.headers.authorization ?? '');
    if (!match?.[1]) throw new UnauthorizedError();
    const resolved = await resolveApiKey(db, match[1]);
    if (!resolved) throw new UnauthorizedError();
    request.scope = resolved.scope;
    request.apiKeyId = resolved.keyId;
  });
}

/** Throws 403 unless the caller is the admin. */
export function requireAdmin(request: FastifyRequest): void {
  if (request.scope.kind !== 'admin') throw new ForbiddenError('This route is for the admin key only.');
}

/** A short, stable name of the scope, for cache keys. */
export function scopeKey(scope: Scope): string {
  return scope.kind === 'admin' ? 'admin' : `dealer:${scope.dealerId}`;
}
