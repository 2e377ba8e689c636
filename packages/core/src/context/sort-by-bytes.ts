/**
 * Sorts names in the byte order of their UTF-8 encoding, as Go's `sort.Strings` and so
 * `filepath.WalkDir` order them. JavaScript's own string order is UTF-16 code units, which agrees
 * for ASCII (nearly every name): only a list with other characters pays for encoding its names.
 */
export function sortByBytes(names: string[]): string[] {
  // eslint-disable-next-line no-control-regex -- the test is "any character above 0x7f".
  if (names.every((name) => !/[^\x00-\x7f]/.test(name))) return names.sort();
  const keyed = names.map((name) => ({ name, bytes: Buffer.from(name) }));
  keyed.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return keyed.map((entry) => entry.name);
}
