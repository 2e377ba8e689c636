import { describe, expect, it } from "vitest";
import { validateImageReference } from "./validate-image-reference.js";

describe("validateImageReference (reference.ParseNormalizedNamed)", () => {
  it.each([
    "alpine",
    "alpine:3.23",
    "golang:1.26-alpine3.23",
    "docker.io/library/ubuntu:26.04@sha256:53958ec7b67c2c9355df922dd08dbf0360611f8c3cdb656875e81873db9ffdba",
    "ghcr.io/astral-sh/uv:0.9",
    "localhost:5000/team/app:LATEST",
    "Registry.Example.com/app",
    "[::1]:5000/app",
    "a__b/c--d",
    "0",
  ])("accepts %s", (reference) => {
    expect(validateImageReference(reference)).toBeUndefined();
  });

  it.each([
    ["Builder", "invalid reference format: repository name (library/Builder) must be lowercase"],
    ["team/App", "invalid reference format: repository name (team/App) must be lowercase"],
    [":.16", "invalid reference format"],
    ["trailing_", "invalid reference format"],
    ["double..dot", "invalid reference format"],
    ["a$", "invalid reference format"],
    ["alpine@sha256:abc", "invalid reference format"],
    ["alpine@sha256:" + "a".repeat(40), "invalid checksum digest length"],
    ["alpine@sha256:" + "A".repeat(64), "invalid checksum digest format"],
    ["alpine@md5:" + "a".repeat(32), "unsupported digest algorithm"],
    [
      "a".repeat(64),
      `invalid repository name (${"a".repeat(64)}), cannot specify 64-byte hexadecimal strings`,
    ],
    ["x/" + "a".repeat(260), "repository name must not be more than 255 characters"],
  ])("rejects %s", (reference, message) => {
    expect(validateImageReference(reference)).toBe(message);
  });
});
