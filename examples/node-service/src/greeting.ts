/** The greeting the service answers with. */
export function greet(name: string): string {
  const who = name.trim() === "" ? "world" : name.trim();
  return `hello, ${who}`;
}
