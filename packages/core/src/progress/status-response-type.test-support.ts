import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";

// For tests and bench/progress.mjs only: protobufjs built from the same field numbers as the
// hand-written decoder in decode-status.ts (`moby.buildkit.v1.StatusResponse` and what it holds,
// in __fixtures__/status-response.proto.json), to encode test messages and to check that decoder
// against an independent one.
const schema = JSON.parse(
  readFileSync(join(import.meta.dirname, "__fixtures__", "status-response.proto.json"), "utf8"),
) as protobuf.INamespace;

/** `moby.buildkit.v1.StatusResponse` as a protobufjs type. */
export const statusResponseType: protobuf.Type = protobuf.Root.fromJSON(schema).lookupType(
  "moby.buildkit.v1.StatusResponse",
);
