import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { encodePacket } from "./encode-packet.js";

// The messages the daemon exchanges with a session's services, field for field as upstream declares
// them: grpc health (grpc/grpc-proto `health/v1/health.proto`), buildkit `session/secrets/secrets.proto`,
// `session/sshforward/ssh.proto`, `session/filesync/filesync.proto`, `session/auth/auth.proto`, and
// fsutil `types/stat.proto` + `types/wire.proto` (the Packet that FileSync's DiffCopy really carries).
/** A `map<K, V>` field (protobufjs reads `keyType`; its `IField` typing leaves it out). */
function mapField(keyType: string, type: string, id: number): protobuf.IField {
  const field: protobuf.IField & { keyType: string } = { keyType, type, id };
  return field;
}

const schema: protobuf.INamespace = {
  nested: {
    HealthCheckRequest: { fields: { service: { type: "string", id: 1 } } },
    HealthCheckResponse: { fields: { status: { type: "int32", id: 1 } } },
    GetSecretRequest: {
      fields: {
        ID: { type: "string", id: 1 },
        annotations: mapField("string", "string", 2),
      },
    },
    GetSecretResponse: { fields: { data: { type: "bytes", id: 1 } } },
    BytesMessage: { fields: { data: { type: "bytes", id: 1 } } },
    CheckAgentRequest: { fields: { ID: { type: "string", id: 1 } } },
    CheckAgentResponse: { fields: {} },
    CredentialsRequest: { fields: { Host: { type: "string", id: 1 } } },
    CredentialsResponse: {
      fields: { Username: { type: "string", id: 1 }, Secret: { type: "string", id: 2 } },
    },
    Stat: {
      fields: {
        path: { type: "string", id: 1 },
        mode: { type: "uint32", id: 2 },
        uid: { type: "uint32", id: 3 },
        gid: { type: "uint32", id: 4 },
        size: { type: "int64", id: 5 },
        modTime: { type: "int64", id: 6 },
        linkname: { type: "string", id: 7 },
        devmajor: { type: "int64", id: 8 },
        devminor: { type: "int64", id: 9 },
        xattrs: mapField("string", "bytes", 10),
      },
    },
    Packet: {
      fields: {
        type: { type: "int32", id: 1 },
        stat: { type: "Stat", id: 2 },
        ID: { type: "uint32", id: 3 },
        data: { type: "bytes", id: 4 },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(schema);

/** protobufjs's `Packet`: what the daemon's packets are decoded with, and the check on `encodePacket`. */
export const packetType = root.lookupType("Packet");

/** `grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING`. */
export const HEALTH_SERVING = 1;

/** fsutil `Packet.PacketType`. */
export const PacketType = { STAT: 0, REQ: 1, DATA: 2, FIN: 3, ERR: 4 } as const;

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: number;
}
export interface GetSecretRequest {
  ID: string;
  annotations: Record<string, string>;
}
export interface GetSecretResponse {
  data: Uint8Array;
}
export interface BytesMessage {
  data: Uint8Array;
}
export interface CheckAgentRequest {
  ID: string;
}
export type CheckAgentResponse = Record<string, never>;
export interface CredentialsRequest {
  Host: string;
}
export interface CredentialsResponse {
  Username: string;
  Secret: string;
}
/** fsutil `types.Stat`; `mode` is a Go `os.FileMode`, `modTime` Unix nanoseconds. */
export interface Stat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: number | string;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Record<string, Uint8Array>;
}
export interface Packet {
  type: number;
  stat?: Stat | null | undefined;
  ID: number;
  data: Uint8Array;
}

interface Codec<T> {
  serialize: (value: T) => Buffer;
  deserialize: (bytes: Buffer) => T;
}

function codec<T>(name: string): Codec<T> {
  const type = root.lookupType(name);
  return {
    // Packets are most of what a session sends (a STAT per file): written by hand, ~10× faster.
    serialize: (value) => {
      if (name === "Packet") return encodePacket(value as Packet);
      const message = type.fromObject(value as Record<string, unknown>);
      return Buffer.from(type.encode(message).finish());
    },
    deserialize: (bytes) =>
      type.toObject(type.decode(bytes), {
        longs: Number,
        defaults: true,
      }) as T,
  };
}

type Call = "unary" | "bidi";

/** A grpc-js method definition for `/package.Service/Method` with protobufjs codecs. */
function method<Req, Res>(path: string, call: Call, request: string, response: string) {
  const req = codec<Req>(request);
  const res = codec<Res>(response);
  return {
    path,
    requestStream: call === "bidi",
    responseStream: call === "bidi",
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

/** The services a session can serve, as grpc-js definitions. */
export const services = {
  health: {
    Check: method<HealthCheckRequest, HealthCheckResponse>(
      "/grpc.health.v1.Health/Check",
      "unary",
      "HealthCheckRequest",
      "HealthCheckResponse",
    ),
  },
  secrets: {
    GetSecret: method<GetSecretRequest, GetSecretResponse>(
      "/moby.buildkit.secrets.v1.Secrets/GetSecret",
      "unary",
      "GetSecretRequest",
      "GetSecretResponse",
    ),
  },
  ssh: {
    CheckAgent: method<CheckAgentRequest, CheckAgentResponse>(
      "/moby.sshforward.v1.SSH/CheckAgent",
      "unary",
      "CheckAgentRequest",
      "CheckAgentResponse",
    ),
    ForwardAgent: method<BytesMessage, BytesMessage>(
      "/moby.sshforward.v1.SSH/ForwardAgent",
      "bidi",
      "BytesMessage",
      "BytesMessage",
    ),
  },
  fileSend: {
    DiffCopy: method<BytesMessage, BytesMessage>(
      "/moby.filesync.v1.FileSend/DiffCopy",
      "bidi",
      "BytesMessage",
      "BytesMessage",
    ),
  },
  // FileSend for `type=local` and FileSync declare BytesMessage but carry fsutil Packets.
  fileSendPackets: {
    DiffCopy: method<Packet, Packet>(
      "/moby.filesync.v1.FileSend/DiffCopy",
      "bidi",
      "Packet",
      "Packet",
    ),
  },
  fileSync: {
    DiffCopy: method<Packet, Packet>(
      "/moby.filesync.v1.FileSync/DiffCopy",
      "bidi",
      "Packet",
      "Packet",
    ),
  },
  auth: {
    Credentials: method<CredentialsRequest, CredentialsResponse>(
      "/moby.filesync.v1.Auth/Credentials",
      "unary",
      "CredentialsRequest",
      "CredentialsResponse",
    ),
  },
} satisfies Record<string, ServiceDefinition>;
