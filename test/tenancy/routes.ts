/** The app's routes as the router knows them, for walking every route that takes an object's id. */
import type { FastifyInstance } from 'fastify';

export interface AppRoute {
  method: string;
  /** Fastify's path, with `:name` parameters. */
  path: string;
}

const LINE_RE = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/u;

/**
 * Every route registered in the app, hidden ones included, read from `printRoutes({commonPrefix: false})`:
 * a tree whose lines hold the rest of a path after their parent's, with the methods in parentheses.
 */
export function routesOf(app: FastifyInstance): AppRoute[] {
  const stack: string[] = [];
  const routes: AppRoute[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (!line.trim()) continue;
    const match = LINE_RE.exec(line);
    if (!match) throw new Error(`cannot read this line of printRoutes: ${JSON.stringify(line)}`);
    const depth = (match[1] ?? '').length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + match[2];
    stack.push(path);
    for (const method of (match[3] ?? '').split(',')) {
      if (method.trim()) routes.push({ method: method.trim(), path });
    }
  }
  return routes;
}

/** The routes of the OpenAPI document, with `{name}` turned into `:name` (hidden routes are not in it). */
export function openApiRoutes(doc: { paths: Record<string, Record<string, unknown>> }): AppRoute[] {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({
      method: method.toUpperCase(),
      path: path.replace(/\{(\w+)\}/g, ':$1'),
    })),
  );
}

/** The names of a path's `:name` parameters. */
export function paramsOf(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
}
