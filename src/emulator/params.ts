/**
 * Declarative parameter specs. Every endpoint declares the params it accepts; one validator turns the
 * decoded form tree into typed values and answers Stripe's errors (`parameter_unknown`,
 * `parameter_missing`, `parameter_invalid_integer`, `parameter_invalid_empty`, ...) uniformly.
 *
 * ```ts
 * const create = {
 *   name: p.string().required(),
 *   description: p.string().emptyable(),   // '' unsets → null
 *   metadata: p.metadata(),
 *   recurring: p.object({ interval: p.enum(['day', 'week', 'month', 'year']).required() }),
 * };
 * type CreateParams = Infer<typeof create>; // { name: string; description?: string | null; ... }
 * ```
 */
import { errors } from './errors.ts';
import type { FormHash, FormValue } from './form.ts';

/** One parameter's spec: how to read it from the form tree, and whether it is required. */
export abstract class Param<T, R extends boolean = false> {
  /** Phantom members carrying the output type and required-ness for `Infer`. */
  declare readonly __type: T;
  declare readonly __required: R;
  isRequired = false;
  isEmptyable = false;

  /** Marks the param as required (missing → 400 `parameter_missing`). */
  required(): Param<T, true> {
    return this.with({ isRequired: true }) as unknown as Param<T, true>;
  }
  /** Lets an empty string through as `null`: Stripe's way of unsetting a field. */
  emptyable(): Param<T | null, R> {
    return this.with({ isEmptyable: true }) as unknown as Param<T | null, R>;
  }
  /** Reads the value at `path` (a Stripe-style param name such as `recurring[interval]`). */
  read(value: FormValue, path: string): T {
    if (value === '') {
      if (this.isEmptyable) return null as T;
      if (this.acceptsEmptyString()) return this.parse(value, path);
      throw errors.invalidEmpty(path);
    }
    return this.parse(value, path);
  }
  protected acceptsEmptyString(): boolean {
    return false;
  }
  protected abstract parse(value: FormValue, path: string): T;
  protected with(patch: Partial<Param<unknown, boolean>>): this {
    return Object.assign(Object.create(Object.getPrototypeOf(this)), this, patch);
  }
}

/** A map of param names to specs. */
export type Fields = Record<string, Param<unknown, boolean>>;

type Out<S> = S extends Param<infer T, boolean> ? T : never;
type RequiredKeys<F extends Fields> = {
  [K in keyof F]: F[K] extends Param<unknown, true> ? K : never;
}[keyof F];
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** The typed value a set of fields validates to. */
export type Infer<F extends Fields> = Simplify<
  { [K in RequiredKeys<F>]: Out<F[K]> } & { [K in Exclude<keyof F, RequiredKeys<F>>]?: Out<F[K]> }
>;

function expectString(value: FormValue, path: string, what = 'string'): string {
  if (typeof value !== 'string')
    throw errors.invalidParam(path, `Invalid ${what}: ${path} must be a ${what}.`);
  return value;
}

class StringParam extends Param<string> {
  constructor(private readonly maxLength = 5000) {
    super();
  }
  protected parse(value: FormValue, path: string): string {
    const s = expectString(value, path);
    if (s.length > this.maxLength) {
      throw errors.invalidParam(
        path,
        `Invalid string: ${s.slice(0, 20)}...; must be at most ${this.maxLength} characters`,
      );
    }
    return s;
  }
}

class EnumParam<V extends string> extends Param<V> {
  constructor(private readonly values: readonly V[]) {
    super();
  }
  protected parse(value: FormValue, path: string): V {
    const s = expectString(value, path);
    if (!(this.values as readonly string[]).includes(s)) {
      const list =
        this.values.length > 1
          ? `${this.values.slice(0, -1).join(', ')}, or ${this.values[this.values.length - 1]}`
          : this.values.join('');
      throw errors.invalidParam(path, `Invalid ${path}: must be one of ${list}`);
    }
    return s as V;
  }
}

class IntegerParam extends Param<number> {
  constructor(private readonly opts: { min?: number; max?: number }) {
    super();
  }
  protected parse(value: FormValue, path: string): number {
    const s = expectString(value, path, 'integer');
    if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw errors.invalidInteger(path, s);
    const n = Number(s);
    if (this.opts.min !== undefined && n < this.opts.min) {
      throw errors.invalidParam(path, `This value must be greater than or equal to ${this.opts.min}.`);
    }
    if (this.opts.max !== undefined && n > this.opts.max) {
      throw errors.invalidParam(path, `This value must be less than or equal to ${this.opts.max}.`);
    }
    return n;
  }
}

class BooleanParam extends Param<boolean> {
  protected parse(value: FormValue, path: string): boolean {
    const s = expectString(value, path, 'boolean');
    if (s === 'true') return true;
    if (s === 'false') return false;
    throw errors.invalidParam(path, `Invalid boolean: ${s}`);
  }
}

class DecimalParam extends Param<string> {
  protected parse(value: FormValue, path: string): string {
    const s = expectString(value, path, 'decimal');
    if (!/^-?\d+(\.\d+)?$/.test(s)) throw errors.invalidParam(path, `Invalid decimal: ${s}`);
    return s;
  }
}

/** Hash-like values arrive as hashes; arrays arrive as hashes with numeric keys or as lists. */
function expectHash(value: FormValue, path: string, what = 'object'): FormHash {
  if (typeof value === 'string' || Array.isArray(value)) {
    throw errors.invalidParam(path, `Invalid ${what}`);
  }
  return value;
}

class ObjectParam<F extends Fields> extends Param<Infer<F>> {
  constructor(readonly fields: F) {
    super();
  }
  protected parse(value: FormValue, path: string): Infer<F> {
    return readFields(this.fields, expectHash(value, path), path);
  }
}

class HashParam<T> extends Param<Record<string, T>> {
  constructor(private readonly valueSpec: Param<T, boolean>) {
    super();
  }
  protected parse(value: FormValue, path: string): Record<string, T> {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(expectHash(value, path)))
      out[k] = this.valueSpec.read(v, `${path}[${k}]`);
    return out;
  }
}

/**
 * Metadata: string values; `metadata[k]=` deletes key k (kept here as `''` for `applyMetadata`),
 * `metadata=` clears everything (→ null).
 */
class MetadataParam extends Param<Record<string, string> | null> {
  constructor() {
    super();
    this.isEmptyable = true;
  }
  protected parse(value: FormValue, path: string): Record<string, string> {
    const out: Record<string, string> = {};
    const entries = Object.entries(expectHash(value, path));
    if (entries.length > 50)
      throw errors.invalidParam(path, 'Invalid metadata: at most 50 keys are allowed.');
    for (const [k, v] of entries) {
      if (typeof v !== 'string')
        throw errors.invalidParam(`${path}[${k}]`, `Invalid ${path}[${k}]: must be a string`);
      if (k.length > 40)
        throw errors.invalidParam(`${path}[${k}]`, 'Metadata keys must be at most 40 characters.');
      if (v.length > 500)
        throw errors.invalidParam(`${path}[${k}]`, 'Metadata values must be at most 500 characters.');
      out[k] = v;
    }
    return out;
  }
}

class ArrayParam<T> extends Param<T[]> {
  constructor(
    private readonly item: Param<T, boolean>,
    private readonly max = 1000,
  ) {
    super();
  }
  protected parse(value: FormValue, path: string): T[] {
    let items: FormValue[];
    if (Array.isArray(value)) items = value;
    else if (typeof value === 'string')
      throw errors.invalidParam(path, `Invalid array: ${path} must be an array.`);
    else {
      const keys = Object.keys(value);
      if (!keys.every((k) => /^\d+$/.test(k)))
        throw errors.invalidParam(path, `Invalid array: ${path} must be an array.`);
      items = keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k]!);
    }
    if (items.length > this.max) throw errors.invalidParam(path, `Invalid array: at most ${this.max} items.`);
    return items.map((v, i) => this.item.read(v, `${path}[${i}]`));
  }
}

/** A `created`-style filter: an exact timestamp or `{gt, gte, lt, lte}`. */
export type Range = number | { gt?: number; gte?: number; lt?: number; lte?: number };

class RangeParam extends Param<Range> {
  private readonly bounds = new ObjectParam({
    gt: new IntegerParam({}),
    gte: new IntegerParam({}),
    lt: new IntegerParam({}),
    lte: new IntegerParam({}),
  });
  protected parse(value: FormValue, path: string): Range {
    if (typeof value === 'string') return new IntegerParam({}).read(value, path);
    return this.bounds.read(value, path);
  }
}

/** Builders for param specs. */
export const p = {
  string: (opts: { maxLength?: number } = {}) => new StringParam(opts.maxLength),
  enum: <const V extends string>(values: readonly V[]) => new EnumParam<V>(values),
  integer: (opts: { min?: number; max?: number } = {}) => new IntegerParam(opts),
  boolean: () => new BooleanParam(),
  decimal: () => new DecimalParam(),
  metadata: () => new MetadataParam(),
  object: <F extends Fields>(fields: F) => new ObjectParam<F>(fields),
  hash: <T>(value: Param<T, boolean>) => new HashParam<T>(value),
  array: <T>(item: Param<T, boolean>, opts: { max?: number } = {}) => new ArrayParam<T>(item, opts.max),
  range: () => new RangeParam(),
};

/** Validates a form hash against fields; unknown keys are a `parameter_unknown` 400. */
export function readFields<F extends Fields>(fields: F, form: FormHash, prefix = ''): Infer<F> {
  const name = (k: string) => (prefix ? `${prefix}[${k}]` : k);
  for (const key of Object.keys(form)) {
    if (!Object.hasOwn(fields, key)) throw errors.parameterUnknown(name(key));
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(fields)) {
    const raw = form[key];
    if (raw === undefined) {
      if (spec.isRequired) throw errors.parameterMissing(name(key));
      continue;
    }
    if (raw === '' && spec.isRequired && !spec.isEmptyable) throw errors.invalidEmpty(name(key));
    out[key] = spec.read(raw, name(key));
  }
  return out as Infer<F>;
}

/** Params every endpoint accepts. */
export const commonFields = { expand: p.array(p.string()) };

/** Params every list endpoint accepts. */
export const listFields = {
  limit: p.integer({ min: 1, max: 100 }),
  starting_after: p.string(),
  ending_before: p.string(),
};

/**
 * Applies a metadata update to existing metadata: `null` clears, `''` values delete keys. Returns a new
 * object.
 */
export function applyMetadata(
  existing: Record<string, string>,
  update: Record<string, string> | null | undefined,
): Record<string, string> {
  if (update === undefined) return existing;
  if (update === null) return {};
  const out = { ...existing };
  for (const [k, v] of Object.entries(update)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Whether a timestamp matches a `created`-style filter. */
export function inRange(value: number, range: Range | undefined): boolean {
  if (range === undefined) return true;
  if (typeof range === 'number') return value === range;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}
