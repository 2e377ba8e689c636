import type { Engine } from "./engine.js";

/**
 * The same engine with another `build`: every other member is the engine's own, methods bound to
 * it so that those reading private fields run on the engine itself. (`bindSession` makes a narrower
 * copy on purpose: a bound session's engine offers only what a session's builds need.)
 */
export function replaceBuild<E extends Engine>(engine: E, build: Engine["build"]): E {
  return new Proxy(engine, {
    get(target, key) {
      if (key === "build") return build;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function"
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
