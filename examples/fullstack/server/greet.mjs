/** The greeting for a name, or for the world when none is given. */
export function greet(name) {
  const who = (name ?? "").trim();
  return { greeting: `hello, ${who === "" ? "world" : who}` };
}
