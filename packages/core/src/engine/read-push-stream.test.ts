import { describe, expect, it } from "vitest";
import type { PushProgress } from "./engine.js";
import { createPushStreamReader } from "./read-push-stream.js";

describe("createPushStreamReader", () => {
  it("reads per-layer byte progress and the digest, across chunks", () => {
    const seen: PushProgress[] = [];
    const reader = createPushStreamReader((progress) => seen.push(progress));
    const text = [
      '{"status":"The push refers to repository [127.0.0.1:5000/app]"}',
      '{"status":"Preparing","progressDetail":{},"id":"a1b2c3"}',
      '{"status":"Pushing","progressDetail":{"current":512,"total":2048},"progress":"[==>  ]","id":"a1b2c3"}',
      '{"status":"Pushed","progressDetail":{},"id":"a1b2c3"}',
      '{"status":"Layer already exists","progressDetail":{},"id":"d4e5f6"}',
      '{"status":"1: digest: sha256:abc size: 527"}',
      '{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:abc","Size":527}}',
    ].join("\n");
    reader.push(text.slice(0, 100));
    reader.push(text.slice(100));
    expect(reader.end()).toEqual({ digest: "sha256:abc", sizeBytes: 527, error: undefined });
    expect(seen).toEqual([
      { layer: "a1b2c3", status: "Preparing", current: null, total: null },
      { layer: "a1b2c3", status: "Pushing", current: 512, total: 2048 },
      { layer: "a1b2c3", status: "Pushed", current: null, total: null },
      { layer: "d4e5f6", status: "Layer already exists", current: null, total: null },
    ]);
  });

  it("reads the digest from the status line when the containerd image store sends no aux", () => {
    // Recorded from Docker 26.1.5 with the containerd image store, pushing to 127.0.0.1:5000.
    const reader = createPushStreamReader(() => undefined);
    reader.push(
      [
        '{"status":"The push refers to repository [127.0.0.1:5000/stagecraft-it/record-push]"}',
        '{"status":"Pushed","progressDetail":{},"id":"a1ecb00b8ba3"}',
        '{"status":"1: digest: sha256:12d837b78269ae090f65745d74c1d3562c641b4842de8e7b62b110fa464ea58b size: 400"}',
        "",
      ].join("\n"),
    );
    expect(reader.end()).toEqual({
      digest: "sha256:12d837b78269ae090f65745d74c1d3562c641b4842de8e7b62b110fa464ea58b",
      sizeBytes: 400,
      error: undefined,
    });
  });

  it("keeps the first error line", () => {
    const reader = createPushStreamReader(() => undefined);
    reader.push(
      '{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}\n{"error":"later"}\n',
    );
    expect(reader.end().error).toBe("unauthorized: authentication required");
  });
});
