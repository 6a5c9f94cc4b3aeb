/**
 * Stripe's search query language, the part the emulator supports:
 * `field:'value'` (exact, case-insensitive), `field~'value'` (substring, at least 3 characters),
 * `metadata['key']:'value'`, numeric `field>n`, `>=`, `<`, `<=`, `-` to negate a clause, and clauses
 * joined by `AND` or by `OR` (not both in one query, as on Stripe). Single or double quotes.
 */
import { errors } from './errors.ts';

/** How a resource exposes a field to search. */
export interface SearchField<T> {
  kind: 'string' | 'number';
  /** Whether `~` is allowed. */
  substring?: boolean;
  get(obj: T): string | number | null | undefined;
}

export interface SearchSpec<T> {
  fields: Record<string, SearchField<T>>;
  /** Metadata lookup, when `metadata['k']` is searchable. */
  metadata?: (obj: T) => Record<string, string>;
}

type Op = ':' | '~' | '>' | '>=' | '<' | '<=';
interface Clause {
  negate: boolean;
  field: string;
  metadataKey?: string;
  op: Op;
  value: string;
  numeric: boolean;
}

function bad(message: string) {
  return errors.invalidParam('query', message);
}

class Lexer {
  pos = 0;
  constructor(readonly src: string) {}
  skipSpace(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.src.length;
  }
  quoted(): string {
    const q = this.src[this.pos];
    if (q !== "'" && q !== '"')
      throw bad(`Could not parse the query at position ${this.pos}: expected a quoted value.`);
    let out = '';
    this.pos++;
    while (this.pos < this.src.length && this.src[this.pos] !== q) {
      if (this.src[this.pos] === '\\' && this.pos + 1 < this.src.length) this.pos++;
      out += this.src[this.pos++];
    }
    if (this.src[this.pos] !== q) throw bad('Could not parse the query: unterminated string.');
    this.pos++;
    return out;
  }
  word(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.src.slice(this.pos));
    if (!m) throw bad(`Could not parse the query at position ${this.pos}.`);
    this.pos += m[0].length;
    return m[0];
  }
}

function parseClause(lx: Lexer): Clause {
  lx.skipSpace();
  let negate = false;
  if (lx.src[lx.pos] === '-') {
    negate = true;
    lx.pos++;
  }
  const field = lx.word();
  let metadataKey: string | undefined;
  if (field === 'metadata') {
    if (lx.src[lx.pos] !== '[') throw bad("Search on metadata needs a key: metadata['key']:'value'.");
    lx.pos++;
    metadataKey = lx.quoted();
    if (lx.src[lx.pos] !== ']') throw bad('Could not parse the query: expected ].');
    lx.pos++;
  }
  const opMatch = /^(>=|<=|:|~|>|<)/.exec(lx.src.slice(lx.pos));
  if (!opMatch) throw bad(`Could not parse the query at position ${lx.pos}: expected an operator.`);
  const op = opMatch[1] as Op;
  lx.pos += op.length;
  const ch = lx.src[lx.pos];
  let value: string;
  let numeric = false;
  if (ch === "'" || ch === '"') value = lx.quoted();
  else {
    const m = /^-?\d+(\.\d+)?/.exec(lx.src.slice(lx.pos));
    if (!m) throw bad(`Could not parse the query at position ${lx.pos}: expected a value.`);
    value = m[0];
    numeric = true;
    lx.pos += m[0].length;
  }
  return { negate, field, op, value, numeric, ...(metadataKey !== undefined ? { metadataKey } : {}) };
}

/** Parses a query into a predicate for objects of one resource. */
export function compileSearch<T>(query: string, spec: SearchSpec<T>): (obj: T) => boolean {
  const lx = new Lexer(query);
  if (lx.atEnd()) throw bad('The query must not be empty.');
  const clauses: Clause[] = [parseClause(lx)];
  let joiner: 'AND' | 'OR' | undefined;
  while (!lx.atEnd()) {
    const word = lx.word();
    if (word !== 'AND' && word !== 'OR')
      throw bad(`Could not parse the query: expected AND or OR, got ${word}.`);
    if (joiner && joiner !== word) throw bad('Queries cannot combine AND and OR.');
    joiner = word;
    clauses.push(parseClause(lx));
  }
  if (clauses.length > 10) throw bad('A query can have at most 10 clauses.');
  const tests = clauses.map((c) => compileClause(c, spec));
  return joiner === 'OR' ? (o) => tests.some((t) => t(o)) : (o) => tests.every((t) => t(o));
}

function compileClause<T>(c: Clause, spec: SearchSpec<T>): (obj: T) => boolean {
  let test: (obj: T) => boolean;
  if (c.metadataKey !== undefined) {
    if (!spec.metadata) throw bad('Field metadata is not searchable.');
    if (c.op !== ':') throw bad('Metadata only supports the : operator.');
    const read = spec.metadata;
    const key = c.metadataKey;
    test = (o) => read(o)[key] === c.value;
  } else {
    const field = spec.fields[c.field];
    if (!field)
      throw bad(
        `Field ${c.field} is not supported in search. Searchable fields: ${Object.keys(spec.fields).join(', ')}.`,
      );
    if (c.op === '~') {
      if (!field.substring) throw bad(`Field ${c.field} does not support substring search (~).`);
      if (c.value.length < 3) throw bad('Substring search (~) needs at least 3 characters.');
      const needle = c.value.toLowerCase();
      test = (o) =>
        String(field.get(o) ?? '')
          .toLowerCase()
          .includes(needle);
    } else if (c.op === ':') {
      if (field.kind === 'number') {
        const n = Number(c.value);
        test = (o) => field.get(o) === n;
      } else {
        const wanted = c.value.toLowerCase();
        test = (o) => {
          const v = field.get(o);
          return v !== null && v !== undefined && String(v).toLowerCase() === wanted;
        };
      }
    } else {
      if (field.kind !== 'number' || !c.numeric) throw bad(`Field ${c.field} does not support ${c.op}.`);
      const n = Number(c.value);
      const cmp = {
        '>': (a: number) => a > n,
        '>=': (a: number) => a >= n,
        '<': (a: number) => a < n,
        '<=': (a: number) => a <= n,
      }[c.op];
      test = (o) => {
        const v = field.get(o);
        return typeof v === 'number' && cmp(v);
      };
    }
  }
  return c.negate ? (o) => !test(o) : test;
}
