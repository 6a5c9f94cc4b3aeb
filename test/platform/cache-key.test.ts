import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeKey } from '../../src/platform/cache.ts';

describe('encodeKey', () => {
  it('keeps parts that contain the separator apart', () => {
    expect(encodeKey(['a:b', 'c'])).not.toBe(encodeKey(['a', 'b:c']));
    expect(encodeKey(['a%3Ab'])).not.toBe(encodeKey(['a:b']));
  });

  it('gives different part lists different keys', () => {
    const parts = fc.array(fc.string({ unit: fc.constantFrom('a', ':', '%', '3', 'A', '') }), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(parts, parts, (x, y) => {
        fc.pre(JSON.stringify(x) !== JSON.stringify(y));
        expect(encodeKey(x)).not.toBe(encodeKey(y));
      }),
    );
  });

  it('refuses an empty key', () => {
    expect(() => encodeKey([])).toThrow(RangeError);
  });
});
