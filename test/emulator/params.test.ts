/** Unit tests for form decoding and the param spec validator. */
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/emulator/errors.ts';
import { decodeForm } from '../../src/emulator/form.ts';
import { applyMetadata, p, readFields } from '../../src/emulator/params.ts';
import { compileSearch } from '../../src/emulator/search.ts';

describe('decodeForm', () => {
  it('decodes nested keys, indexed and appended arrays, and encoded brackets', () => {
    expect(
      decodeForm('a=1&b[c]=2&items[0][price]=p1&items[1][price]=p2&expand[]=x&expand[]=y&m%5Bk%5D=v+w'),
    ).toEqual({
      a: '1',
      b: { c: '2' },
      items: { '0': { price: 'p1' }, '1': { price: 'p2' } },
      expand: ['x', 'y'],
      m: { k: 'v w' },
    });
  });
  it('keeps empty values as empty strings', () => {
    expect(decodeForm('metadata=&description=')).toEqual({ metadata: '', description: '' });
  });
});

describe('readFields', () => {
  const fields = {
    name: p.string().required(),
    count: p.integer({ min: 1 }),
    items: p.array(p.object({ price: p.string().required(), quantity: p.integer() })),
    metadata: p.metadata(),
    note: p.string().emptyable(),
    flag: p.boolean(),
  };
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as ApiError).body;
    }
    throw new Error('expected an error');
  };

  it('types and converts values; metadata keys with numeric names stay a hash', () => {
    const out = readFields(
      fields,
      decodeForm(
        'name=x&count=2&items[0][price]=a&items[1][price]=b&items[1][quantity]=3&metadata[0]=zero&note=&flag=true',
      ),
    );
    expect(out).toEqual({
      name: 'x',
      count: 2,
      items: [{ price: 'a' }, { price: 'b', quantity: 3 }],
      metadata: { '0': 'zero' },
      note: null,
      flag: true,
    });
  });

  it('names the offending param', () => {
    expect(err(() => readFields(fields, decodeForm('count=1')))).toMatchObject({
      code: 'parameter_missing',
      param: 'name',
    });
    expect(err(() => readFields(fields, decodeForm('name=x&items[0][qty]=1')))).toMatchObject({
      code: 'parameter_unknown',
      param: 'items[0][qty]',
    });
    expect(err(() => readFields(fields, decodeForm('name=x&items[0][quantity]=1')))).toMatchObject({
      code: 'parameter_missing',
      param: 'items[0][price]',
    });
    expect(err(() => readFields(fields, decodeForm('name=x&count=1.5')))).toMatchObject({
      code: 'parameter_invalid_integer',
      param: 'count',
    });
    expect(err(() => readFields(fields, decodeForm('name=')))).toMatchObject({
      code: 'parameter_invalid_empty',
      param: 'name',
    });
    expect(err(() => readFields(fields, decodeForm('name=x&flag=yes')))).toMatchObject({ param: 'flag' });
    expect(err(() => readFields(fields, decodeForm('name=x&count=0')))).toMatchObject({ param: 'count' });
  });

  it('applies metadata updates: empty value deletes a key, null clears', () => {
    expect(applyMetadata({ a: '1', b: '2' }, { a: '', c: '3' })).toEqual({ b: '2', c: '3' });
    expect(applyMetadata({ a: '1' }, null)).toEqual({});
    expect(applyMetadata({ a: '1' }, undefined)).toEqual({ a: '1' });
  });
});

describe('search', () => {
  const spec = {
    fields: {
      email: { kind: 'string' as const, substring: true, get: (o: { email: string }) => o.email },
      created: { kind: 'number' as const, get: (o: { created: number }) => o.created },
    },
    metadata: (o: { metadata: Record<string, string> }) => o.metadata,
  };
  const rows = [
    { email: 'a@x.de', created: 10, metadata: { k: 'v' } },
    { email: 'b@y.de', created: 20, metadata: {} },
  ];
  const run = (q: string) => rows.filter(compileSearch(q, spec as never)).map((r) => r.email);
  it('supports :, ~, numeric comparisons, negation, AND/OR', () => {
    expect(run("email:'a@x.de'")).toEqual(['a@x.de']);
    expect(run("email~'y.de'")).toEqual(['b@y.de']);
    expect(run('created>15')).toEqual(['b@y.de']);
    expect(run("-metadata['k']:'v'")).toEqual(['b@y.de']);
    expect(run("email:'a@x.de' OR created>=20")).toEqual(['a@x.de', 'b@y.de']);
    expect(run("email~'.de' AND created<15")).toEqual(['a@x.de']);
  });
  it('rejects what Stripe rejects', () => {
    expect(() => run("email~'de'")).toThrow(ApiError);
    expect(() => run("email:'a' AND email:'b' OR email:'c'")).toThrow(/AND and OR/);
    expect(() => run("nope:'x'")).toThrow(/not supported/);
  });
});
