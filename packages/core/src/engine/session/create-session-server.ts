import { once } from "node:events";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import type { Duplex, Writable } from "node:stream";
import {
  Server,
  ServerCredentials,
  status,
  type Metadata,
  type ServerDuplexStream,
  type ServerErrorResponse,
  type ServerUnaryCall,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { EngineError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { SessionCredentials, SessionOptions } from "../engine.js";
import { receiveLocalOutput } from "./receive-local-output.js";
import { readDirRequest, sendDir } from "./send-dir.js";
import {
  HEALTH_SERVING,
  services,
  type BytesMessage,
  type CheckAgentRequest,
  type CheckAgentResponse,
  type CredentialsRequest,
  type CredentialsResponse,
  type GetSecretRequest,
  type GetSecretResponse,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type Packet,
} from "./session-protos.js";

/**
 * Finds the login for a registry host as BuildKit names it (`registry-1.docker.io` for Docker Hub,
 * `127.0.0.1:5000`, …); undefined answers anonymously.
 */
export type SessionCredentialResolver = (
  host: string,
) => Promise<SessionCredentials[string] | undefined>;

/** What the session server offers: the session's options, and where its logins come from. */
export interface SessionServerOptions extends SessionOptions {
  /**
   * Asked on each `Auth.Credentials` call, before `credentials` (a `~/.docker/config.json` reader:
   * the daemon asks when it pulls or pushes, and a credential helper is run only then).
   */
  resolveCredentials?: SessionCredentialResolver | undefined;
}

/** The gRPC side of a BuildKit session: the services it offers, ready to serve one hijacked socket. */
export interface SessionServer {
  /** Every method served, as `/package.Service/Method`, for `X-Docker-Expose-Session-Grpc-Method`. */
  readonly methods: readonly string[];
  /** Serves gRPC on the socket `/session` upgraded (the daemon is the client). */
  serve(socket: Duplex): void;
  /** Resolves once every output the daemon has started sending is written (rejects if one failed). */
  outputsWritten(): Promise<void>;
  /** The error writing an output failed with, as soon as it failed; undefined until then. */
  outputFailure(): Error | undefined;
  /** The first error reading the build context (FileSync) failed with; undefined until then. */
  contextFailure(): Error | undefined;
  /** Stops serving at once. */
  shutdown(): void;
}

/** The SSH id BuildKit forwards an agent for, sent as call metadata (buildkit `sshforward/ssh.go`). */
const SSH_ID_KEY = "buildkit.ssh.id";

/**
 * Builds the services the session offers from its options: always `grpc.health.v1.Health` (Docker
 * 26.1 drops a session at its first failed health check, 5 s in), plus secrets, SSH agents, outputs
 * and registry credentials when asked for.
 */
export function createSessionServer(options: SessionServerOptions, log: Logger): SessionServer {
  const server = new Server();
  const methods: string[] = [];
  const writing = new Set<Promise<void>>();
  let outputError: Error | undefined;
  let contextError: Error | undefined;

  const health = {
    Check: (
      _call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) => {
      callback(null, { status: HEALTH_SERVING });
    },
  };
  server.addService(services.health, health);
  methods.push(services.health.Check.path);

  const secrets = options.secrets;
  if (secrets !== undefined) {
    server.addService(services.secrets, {
      GetSecret: (
        call: ServerUnaryCall<GetSecretRequest, GetSecretResponse>,
        callback: sendUnaryData<GetSecretResponse>,
      ) => {
        const id = call.request.ID;
        const value = Object.hasOwn(secrets, id) ? secrets[id] : undefined;
        log.debug({ id, found: value !== undefined }, "session: GetSecret");
        // BuildKit's secrets client turns NotFound into "secret ID: not found".
        if (value === undefined) callback(grpcError(status.NOT_FOUND, `secret ${id} not found`));
        else callback(null, { data: value });
      },
    });
    methods.push(services.secrets.GetSecret.path);
  }

  const agents = new Map((options.ssh ?? []).map((agent) => [agent.id, agent.socket]));
  if (agents.size > 0) {
    server.addService(services.ssh, {
      CheckAgent: (
        call: ServerUnaryCall<CheckAgentRequest, CheckAgentResponse>,
        callback: sendUnaryData<CheckAgentResponse>,
      ) => {
        const id = call.request.ID === "" ? "default" : call.request.ID;
        log.debug({ id, found: agents.has(id) }, "session: CheckAgent");
        if (agents.has(id)) callback(null, {});
        else callback(grpcError(status.NOT_FOUND, `unset ssh forward key ${id}`));
      },
      ForwardAgent: (call: ServerDuplexStream<BytesMessage, BytesMessage>) => {
        const id = firstValue(call.metadata, SSH_ID_KEY) ?? "default";
        const socket = agents.get(id);
        log.debug({ id, found: socket !== undefined }, "session: ForwardAgent");
        if (socket === undefined) {
          call.emit("error", grpcError(status.NOT_FOUND, `unset ssh forward key ${id}`));
          return;
        }
        forwardAgent(call, socket);
      },
    });
    methods.push(services.ssh.CheckAgent.path, services.ssh.ForwardAgent.path);
  }

  const output = options.output;
  if (output !== undefined) {
    const track = (work: Promise<void>): void => {
      const tracked = work.catch((error: unknown) => {
        outputError ??= describeOutputError(error);
      });
      writing.add(tracked);
      void tracked.finally(() => writing.delete(tracked));
    };
    if (output.type === "tar") {
      server.addService(services.fileSend, {
        DiffCopy: (call: ServerDuplexStream<BytesMessage, BytesMessage>) => {
          log.debug({}, "session: FileSend tar");
          track(receiveTar(call, output.open()));
        },
      });
    } else {
      server.addService(services.fileSendPackets, {
        DiffCopy: (call: ServerDuplexStream<Packet, Packet>) => {
          log.debug({ dir: output.dir }, "session: FileSend local");
          track(receiveLocalOutput(call, output.dir));
        },
      });
    }
    methods.push(services.fileSend.DiffCopy.path);
  }

  const context = options.context;
  if (context !== undefined) {
    const dirs: Record<string, string> = {
      ...context.named,
      context: context.dir,
      dockerfile: dirname(context.dockerfile),
    };
    server.addService(services.fileSync, {
      DiffCopy: (call: ServerDuplexStream<Packet, Packet>) => {
        const request = readDirRequest(call.metadata);
        const dir = Object.hasOwn(dirs, request.dirName) ? dirs[request.dirName] : undefined;
        log.debug({ ...request }, "session: FileSync");
        if (dir === undefined) {
          call.emit(
            "error",
            grpcError(status.NOT_FOUND, `no access allowed to dir "${request.dirName}"`),
          );
          return;
        }
        sendDir(call, dir, request).then(
          (sent) => {
            log.debug({ dir: request.dirName, ...sent }, "session: FileSync sent");
            options.onContextSent?.({ dir: request.dirName, ...sent });
          },
          (error: unknown) => {
            log.warn({ dir: request.dirName, error: String(error) }, "session: FileSync failed");
            if (error instanceof Error) contextError ??= error;
            call.emit("error", grpcError(status.INTERNAL, String(error)));
          },
        );
      },
    });
    methods.push(services.fileSync.DiffCopy.path);
  }

  const credentials = options.credentials;
  const resolveCredentials = options.resolveCredentials;
  // BuildKit asks `Credentials` for basic auth and, for a token server, unless `GetTokenAuthority`
  // gave it a key of the client's (buildkit `util/resolver/authorizer.go`): it then fetches the token
  // itself with the login. No key is offered, so BuildKit never calls `FetchToken`; the unserved
  // `GetTokenAuthority` answers UNIMPLEMENTED, which BuildKit takes for "no authority"
  // (`session/auth/auth.go`).
  server.addService(services.auth, {
    Credentials: (
      call: ServerUnaryCall<CredentialsRequest, CredentialsResponse>,
      callback: sendUnaryData<CredentialsResponse>,
    ) => {
      const host = call.request.Host;
      const resolved =
        resolveCredentials === undefined ? Promise.resolve(undefined) : resolveCredentials(host);
      resolved.then(
        (found) => {
          const login = found ?? credentials?.[host];
          log.debug({ host, found: login !== undefined }, "session: Credentials");
          callback(null, { Username: login?.username ?? "", Secret: login?.secret ?? "" });
        },
        (error: unknown) => {
          log.warn({ host, error: String(error) }, "session: Credentials failed");
          callback(
            grpcError(status.UNAVAILABLE, `cannot read the login for ${host}: ${String(error)}`),
          );
        },
      );
    },
  });
  methods.push(services.auth.Credentials.path);

  return {
    methods,
    serve: (socket) => {
      server.createConnectionInjector(ServerCredentials.createInsecure()).injectConnection(socket);
    },
    outputsWritten: async () => {
      while (writing.size > 0) await Promise.all(writing);
      if (outputError !== undefined) throw outputError;
    },
    outputFailure: () => outputError,
    contextFailure: () => contextError,
    shutdown: () => {
      server.forceShutdown();
    },
  };
}

/** Proxies the daemon's agent stream to a fresh connection to the local agent socket, both ways. */
function forwardAgent(call: ServerDuplexStream<BytesMessage, BytesMessage>, path: string): void {
  const agent = createConnection(path);
  agent.on("data", (chunk: Buffer) => {
    if (!call.write({ data: chunk })) {
      agent.pause();
      call.once("drain", () => agent.resume());
    }
  });
  agent.on("end", () => {
    call.end();
  });
  agent.on("error", (error) => {
    call.emit("error", grpcError(status.UNAVAILABLE, `ssh agent ${path}: ${error.message}`));
  });
  call.on("data", (message: BytesMessage) => {
    agent.write(message.data);
  });
  call.on("end", () => {
    agent.end();
  });
  call.on("cancelled", () => {
    agent.destroy();
  });
  call.on("error", () => {
    agent.destroy();
  });
}

/** Writes the tar the daemon streams (`BytesMessage` chunks) to `destination`, then ends the call. */
async function receiveTar(
  call: ServerDuplexStream<BytesMessage, BytesMessage>,
  destination: Writable,
): Promise<void> {
  try {
    // Plain `for await` destroys the call when the daemon half-closes, before the OK status goes out.
    for await (const message of call.iterator({
      destroyOnReturn: false,
    }) as AsyncIterable<BytesMessage>) {
      if (!destination.write(message.data)) await once(destination, "drain");
    }
    destination.end();
    await once(destination, "finish");
    call.end();
  } catch (error) {
    // An output that did not end is not a whole one: let it throw away what it has.
    destination.destroy();
    call.emit(
      "error",
      grpcError(status.INTERNAL, `writing the output: ${(error as Error).message}`),
    );
    throw error;
  }
}

/**
 * An export that broke off because the engine's end of the session went away (the call closed
 * before the daemon finished sending) is the engine's fault, said as such; other errors (a full
 * disk) keep their own message.
 */
function describeOutputError(error: unknown): Error {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === "ERR_STREAM_PREMATURE_CLOSE" || code === status.CANCELLED) {
    return new EngineError(
      "ENGINE_STREAM_ENDED",
      "the connection to the engine broke during the export",
      {
        cause: error,
        hint: "The engine may have stopped or crashed; check that it is running (docker info) and retry.",
      },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function firstValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" ? value : value?.toString("utf8");
}

function grpcError(code: status, details: string): ServerErrorResponse {
  return Object.assign(new Error(details), { code, details });
}
