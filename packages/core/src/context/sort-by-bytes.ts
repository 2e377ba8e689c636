import { encodePath } from "./context-path.js";

/**
 * Sorts names (or items by their names) in the byte order of their UTF-8 encoding, as Go's
 * `sort.Strings` and so `filepath.WalkDir` order them. JavaScript's own string order is UTF-16 code
 * units, which agrees for ASCII (nearly every name): only a list with other characters pays for
 * encoding its names. A name that is not UTF-8 sorts by its bytes (see `decodeName`). Sorts in place
 * and returns the array.
 */
export function sortByBytes(names: string[]): string[];
export function sortByBytes<T>(items: T[], nameOf: (item: T) => string): T[];
export function sortByBytes<T>(
  items: T[],
  nameOf: (item: T) => string = (item) => item as string,
): T[] {
  // eslint-disable-next-line no-control-regex -- the test is "any character above 0x7f".
  if (items.every((item) => !/[^\x00-\x7f]/.test(nameOf(item)))) {
    return items.sort((a, b) => {
      const x = nameOf(a);
      const y = nameOf(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
  const keyed = items.map((item) => ({ item, key: encodePath(nameOf(item)) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  for (const [index, { item }] of keyed.entries()) items[index] = item;
  return items;
}
