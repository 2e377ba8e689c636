/** Build args given as a Map or a record, as a Map. */
export function toBuildArgMap(
  values: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined,
): ReadonlyMap<string, string> {
  if (values === undefined) return new Map();
  if (values instanceof Map) return values as ReadonlyMap<string, string>;
  return new Map(Object.entries(values as Readonly<Record<string, string>>));
}
