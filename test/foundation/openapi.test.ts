/**
 * The OpenAPI document: every operation has a documented 2xx answer with an example, every request body has an
 * example, and every example is valid against the schema it sits on. A route added without them fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: unknown };
interface MediaType {
  schema?: Schema;
  example?: Json;
  examples?: Record<string, { value?: Json }>;
}
interface Operation {
  requestBody?: { content?: Record<string, MediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** A small JSON-schema check (the keywords zod emits for our schemas, OpenAPI 3.0 `nullable` included). */
function validate(schema: Schema, value: unknown, doc: OpenApiDocument, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components?.schemas?.[name];
    return target ? validate(target, value, doc, path) : [`${path}: unresolved ${schema.$ref}`];
  }
  if (value === null && schema.nullable === true) return [];
  const errors: string[] = [];
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v;
  if (schema.type !== undefined) {
    const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
    const actual = typeOf(value);
    const ok = types.some(
      (t) =>
        t === actual ||
        (t === 'integer' && Number.isInteger(value)) ||
        (t === 'number' && actual === 'number'),
    );
    if (!ok) return [`${path}: expected ${types.join('|')}, got ${actual}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength)
      errors.push(`${path}: too short`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength)
      errors.push(`${path}: too long`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) {
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errors.push(`${path}: above maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) {
      errors.push(`${path}: not above exclusiveMinimum`);
    }
    if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number' && value <= schema.minimum) {
      errors.push(`${path}: not above minimum`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      errors.push(`${path}: too few items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      errors.push(`${path}: too many items`);
    if (schema.items && typeof schema.items === 'object') {
      value.forEach((item, i) => {
        errors.push(...validate(schema.items as Schema, item, doc, `${path}[${i}]`));
      });
    }
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) {
      if (!(key in object)) errors.push(`${path}: missing required ${key}`);
    }
    for (const [key, item] of Object.entries(object)) {
      const property = properties[key];
      if (property) errors.push(...validate(property, item, doc, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unknown key ${key}`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errors.push(...validate(schema.additionalProperties as Schema, item, doc, `${path}.${key}`));
      }
    }
  }
  for (const sub of (schema.allOf ?? []) as Schema[]) errors.push(...validate(sub, value, doc, path));
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword] as Schema[] | undefined;
    if (options && !options.some((sub) => validate(sub, value, doc, path).length === 0)) {
      errors.push(`${path}: matches none of ${keyword}`);
    }
  }
  return errors;
}

/** Every `example` nested in a schema (property examples too) checked against the schema it sits on. */
function nestedExampleErrors(schema: unknown, doc: OpenApiDocument, path: string): string[] {
  if (!schema || typeof schema !== 'object') return [];
  if (Array.isArray(schema)) return schema.flatMap((s, i) => nestedExampleErrors(s, doc, `${path}[${i}]`));
  const errors: string[] = [];
  const s = schema as Schema;
  if ('example' in s) errors.push(...validate(s, s.example, doc, `${path}(example)`));
  for (const [key, child] of Object.entries(s)) {
    if (key !== 'example' && key !== 'examples' && key !== 'enum' && key !== 'const' && key !== 'default') {
      errors.push(...nestedExampleErrors(child, doc, `${path}.${key}`));
    }
  }
  return errors;
}

/** The examples of a media type: `example`, `examples{…}.value`, or the schema's own `example`. */
function examplesOf(media: MediaType): Json[] {
  if (media.example !== undefined) return [media.example];
  if (media.examples) return Object.values(media.examples).map((e) => e.value as Json);
  if (media.schema && 'example' in media.schema) return [media.schema.example as Json];
  return [];
}

const isJson = (contentType: string) => contentType.includes('json');

/** What is wrong with one operation's documentation (empty when it is complete). */
function problemsOf(doc: OpenApiDocument, operation: Operation): string[] {
  const problems: string[] = [];
  const checkMedia = (where: string, contentType: string, media: MediaType) => {
    if (!media.schema) {
      problems.push(`${where} ${contentType}: no schema`);
      return;
    }
    if (!isJson(contentType)) {
      // A binary answer (the letter PDF) is documented by its schema; an example would be bytes.
      if (media.schema.format !== 'binary') problems.push(`${where} ${contentType}: not JSON and not binary`);
      return;
    }
    const examples = examplesOf(media);
    if (examples.length === 0) problems.push(`${where} ${contentType}: no example`);
    for (const example of examples) {
      for (const error of validate(media.schema, example, doc)) problems.push(`${where} example: ${error}`);
    }
    problems.push(...nestedExampleErrors(media.schema, doc, `${where} schema`));
  };

  const success = Object.entries(operation.responses ?? {}).filter(([code]) => /^2(\d\d|XX)$/i.test(code));
  if (success.length === 0) problems.push('no 2xx response');
  for (const [code, response] of success) {
    const content = Object.entries(response.content ?? {});
    if (content.length === 0) {
      if (code !== '204') problems.push(`response ${code}: no schema (only 204 may have no content)`);
      continue;
    }
    for (const [contentType, media] of content) checkMedia(`response ${code}`, contentType, media);
  }
  if (operation.requestBody) {
    const content = Object.entries(operation.requestBody.content ?? {});
    if (content.length === 0) problems.push('requestBody: no content');
    for (const [contentType, media] of content) checkMedia('requestBody', contentType, media);
  }
  return problems;
}

describe('OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    t = await createTestApp();
    const response = await t.app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    doc = response.json() as OpenApiDocument;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
    );

  it('documents the API’s routes', () => {
    const names = operations().map((o) => o.name);
    expect(names.length).toBeGreaterThanOrEqual(40);
    for (const expected of [
      'POST /api/payments/customers',
      'POST /api/payments/invoices',
      'POST /api/payments/payment-links',
      'POST /api/payments/subscriptions',
      'GET /api/payments/dunning/{id}',
      'POST /api/admin/dealers',
    ]) {
      expect(names).toContain(expected);
    }
    // Hidden routes stay out.
    expect(names).not.toContain('GET /openapi.json');
    expect(names).not.toContain('GET /payments/success');
  });

  it('every operation: a 2xx answer with a schema and a valid example; a request body with a valid example', () => {
    const problems = operations().flatMap(({ name, operation }) =>
      problemsOf(doc, operation).map((problem) => `${name}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });

  it('the check catches a missing example, a missing 2xx schema and an invalid example', () => {
    const object: Schema = {
      type: 'object',
      properties: { id: { type: 'string', pattern: '^byr_' }, amount: { type: 'integer', minimum: 50 } },
      required: ['id', 'amount'],
      additionalProperties: false,
    };
    const json = (schema: Schema, example?: Json) => ({
      content: { 'application/json': example === undefined ? { schema } : { schema, example } },
    });
    expect(problemsOf(doc, { responses: { 200: json(object) } })).toEqual([
      'response 200 application/json: no example',
    ]);
    expect(problemsOf(doc, { responses: { 200: { description: 'Default Response' } } })).toHaveLength(1);
    expect(problemsOf(doc, { responses: { 400: json(object, { id: 'byr_1', amount: 50 }) } })).toEqual([
      'no 2xx response',
    ]);
    expect(problemsOf(doc, { responses: { 201: json(object, { id: 'byr_1', amount: 50 }) } })).toEqual([]);
    expect(
      problemsOf(doc, { responses: { 201: json(object, { id: 'inv_1', amount: 49.5, x: 1 }) } }),
    ).toEqual([
      'response 201 example: $.id: "inv_1" does not match ^byr_',
      'response 201 example: $.amount: expected integer, got number',
      'response 201 example: $: unknown key x',
    ]);
    expect(
      problemsOf(doc, {
        requestBody: json(object),
        responses: { 204: { description: 'removed' } },
      }),
    ).toEqual(['requestBody application/json: no example']);
  });

  it('money in the examples is integer cents', () => {
    const invoice = doc.paths['/api/payments/invoices']?.post?.requestBody?.content?.['application/json'];
    expect(invoice && examplesOf(invoice)[0]).toMatchObject({ amount: 2500000 });
  });

  it('/docs serves the Swagger UI', async () => {
    let response = await t.app.inject({ url: '/docs/' });
    if (response.statusCode >= 300 && response.statusCode < 400) {
      response = await t.app.inject({ url: String(response.headers.location) });
    }
    expect(response.statusCode).toBe(200);
    expect(String(response.headers['content-type'])).toContain('text/html');
    expect(response.body).toMatch(/swagger/i);
  });
});
