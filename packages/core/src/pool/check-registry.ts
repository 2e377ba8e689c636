import { EngineError } from "../errors.js";

/**
 * Checks that a registry answers its API (`GET /v2/`: 200, or 401 when it wants a login) before a
 * pool run starts, so a run never builds for an hour and then cannot share its results. Loopback
 * registries are spoken to over http (Docker trusts 127.0.0.0/8 as an insecure registry), others
 * over https.
 * @throws EngineError (`ENGINE_UNREACHABLE`) naming the registry when it does not answer.
 */
export async function checkRegistry(host: string, signal?: AbortSignal): Promise<void> {
  const loopback = /^(127\.|localhost(:|$)|\[::1\])/.test(host);
  const url = `${loopback ? "http" : "https"}://${host}/v2/`;
  const timeout = AbortSignal.timeout(5000);
  let status: number;
  try {
    const response = await fetch(url, {
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    throw new EngineError("ENGINE_UNREACHABLE", `the registry ${host} cannot be reached (${url})`, {
      cause: error,
      hint: "Start the registry or fix --registry; the engines of the pool share results through it.",
    });
  }
  if (status !== 200 && status !== 401) {
    throw new EngineError(
      "ENGINE_UNREACHABLE",
      `the registry ${host} answered ${status} to ${url}: not a registry API`,
      { statusCode: status, hint: "Check --registry: it needs HOST[:PORT] of an OCI registry." },
    );
  }
}
