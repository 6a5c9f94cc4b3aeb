/**
 * Decodes `application/x-www-form-urlencoded` bodies and query strings the way Stripe reads them:
 * `a[b][c]=v` nests, `a[0]=v` / `a[]=v` build arrays, repeated keys append.
 *
 * The result is an untyped tree; whether `{0: ..., 1: ...}` is an array or a hash with numeric keys
 * (metadata may legitimately have key "0") is decided later by the endpoint's param spec.
 */

/** A decoded value: a string leaf, a list (from `a[]=`), or a hash (from `a[k]=`). */
export type FormValue = string | FormValue[] | FormHash;
/** A decoded hash; its keys are the bracketed names. */
export interface FormHash {
  [key: string]: FormValue;
}

/** Splits `items[0][price]` into `['items', '0', 'price']`; `expand[]` into `['expand', '']`. */
function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  let last = open;
  re.lastIndex = open;
  // biome-ignore lint/suspicious/noAssignInExpressions: the classic regex loop
  while ((m = re.exec(key)) !== null) {
    if (m.index !== last) break;
    parts.push(m[1] ?? '');
    last = re.lastIndex;
  }
  // Anything after the last well-formed bracket is kept verbatim, like Rack does.
  if (last < key.length) parts[parts.length - 1] += key.slice(last);
  return parts;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function assign(target: FormHash, path: string[], value: string): void {
  let node: FormHash | FormValue[] = target;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const isLast = i === path.length - 1;
    if (Array.isArray(node)) {
      // `a[]` appends; `a[][b]` appends a hash (rare; Stripe clients use indexes).
      if (isLast) {
        node.push(value);
        return;
      }
      const child: FormHash = {};
      node.push(child);
      node = child;
      continue;
    }
    const nextSeg = path[i + 1];
    if (isLast) {
      const existing = node[seg];
      if (Array.isArray(existing)) existing.push(value);
      else node[seg] = value;
      return;
    }
    let child: FormValue | undefined = node[seg];
    if (child === undefined || typeof child === 'string') {
      // A string here is overwritten by the nested form (`a=x&a[b]=y`): the later, richer value wins.
      child = nextSeg === '' ? [] : {};
      node[seg] = child;
    }
    node = child as FormHash | FormValue[];
  }
}

/** Decodes a form body or a query string (without the leading `?`) into a tree. */
export function decodeForm(input: string): FormHash {
  const out: FormHash = {};
  if (!input) return out;
  for (const pair of input.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = decodeComponent(rawKey);
    if (!key) continue;
    assign(out, splitKey(key), decodeComponent(rawValue));
  }
  return out;
}

/** Merges b into a (b wins); used to combine query-string and body parameters. */
export function mergeForms(a: FormHash, b: FormHash): FormHash {
  const out: FormHash = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = v;
  return out;
}

/**
 * Turns a JSON value into the same tree shape a form body would give (numbers and booleans become
 * strings), so control endpoints and JSON-speaking clients share the spec validation.
 */
export function jsonToForm(value: unknown): FormValue {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(jsonToForm);
  if (typeof value === 'object') {
    const out: FormHash = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = jsonToForm(v);
    return out;
  }
  return String(value);
}
