import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** The page and its two assets, as GET paths under /dashboard. */
const ASSETS = [
  { path: '/dashboard', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * The page runs only its own script and style and talks only to this origin, so even a rendering mistake could
 * not run a buyer's "<script>" name or send the key elsewhere; no framing (clickjacking of the pause buttons).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /dashboard: the dealer dashboard, a public page that holds no data itself; it calls the JSON API with the
 * key the user types in. The files are read once here, so a running service never touches the disk for them.
 */
export async function dashboardRoutes(app: FastifyInstance) {
  const assetsDir = new URL('./assets/', import.meta.url);
  for (const asset of ASSETS) {
    const body = await readFile(new URL(asset.file, assetsDir), 'utf8');
    app.get(asset.path, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(asset.type)
        .header('content-security-policy', DASHBOARD_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        // Revalidate on every load, so a deployed fix reaches the next page view.
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
}
