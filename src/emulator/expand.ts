/**
 * `expand[]`: replaces id strings in a response body by the objects they name, found by id prefix.
 * Paths are dotted (`customer`, `data.customer`, `default_price.product`); arrays along the way are
 * expanded element by element, null stays null. Stripe allows four levels.
 */
import { errors } from './errors.ts';

/** Finds an object by id; undefined when no object type has that prefix. */
export type Lookup = (id: string) => { known: boolean; object?: unknown };

const MAX_DEPTH = 4;

function cannotExpand(path: string) {
  return errors.invalidParam('expand', `This property cannot be expanded (${path}).`);
}

function expandAt(node: unknown, segments: string[], full: string, lookup: Lookup): unknown {
  if (Array.isArray(node)) return node.map((n) => expandAt(n, segments, full, lookup));
  if (typeof node !== 'object' || node === null) throw cannotExpand(full);
  const hash = node as Record<string, unknown>;
  const [head, ...rest] = segments;
  if (head === undefined || !Object.hasOwn(hash, head)) throw cannotExpand(full);
  let value = hash[head];
  if (typeof value === 'string') {
    const found = lookup(value);
    if (!found.known) throw cannotExpand(full);
    if (found.object !== undefined) value = found.object;
  }
  if (value !== null && rest.length) value = expandAt(value, rest, full, lookup);
  hash[head] = value;
  return hash;
}

/** Applies all expansion paths to a response body (in place; the body is a fresh copy). */
export function applyExpansions(body: unknown, paths: string[], lookup: Lookup): unknown {
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > MAX_DEPTH) {
      throw errors.invalidParam(
        'expand',
        `You cannot expand more than ${MAX_DEPTH} levels of a property (${path}).`,
      );
    }
    expandAt(body, segments, path, lookup);
  }
  return body;
}
