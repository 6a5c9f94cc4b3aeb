/**
 * Turns key parts into one string that no other list of parts produces: '%' and ':' are
 * percent-escaped inside each part before the parts are joined with ':', so
 * ['a:b', 'c'] and ['a', 'b:c'] stay apart. Only the two characters that matter are escaped
 * (rather than encodeURIComponent) because that is total: a lone surrogate cannot make it throw.
 */
export function encodeKey(parts: readonly string[]): string {
  if (parts.length === 0) throw new RangeError('a cache key needs at least one part');
  return parts.map((part) => part.replaceAll('%', '%25').replaceAll(':', '%3A')).join(':');
}

/** Sorted and de-duplicated, so the same set of tags always lines up with the same versions. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort();
}
