import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContextChangedError, deviceNumbers, tarHeader, writeTar } from "./write-tar.js";

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "stagecraft-tar-"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function tarOf(entries: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of writeTar(root, entries, [])) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** What GNU tar makes of the archive: `tar -tv` lines, and the extracted tree. */
function gnuTar(archive: Buffer): { listing: string[]; dir: string } {
  const dir = mkdtempSync(join(root, "out-"));
  const listing = execFileSync("tar", ["-tv", "--numeric-owner", "-f", "-"], { input: archive })
    .toString("utf8")
    .trim()
    .split("\n");
  execFileSync("tar", ["-x", "-f", "-", "-C", dir], { input: archive });
  return { listing, dir };
}

describe("writeTar", () => {
  it("writes names GNU tar reads back: long ones split or in PAX, non-ASCII, long link targets", async () => {
    const deep = `${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(60)}`;
    const longFile = `${deep}/${"n".repeat(90)}.txt`; // > 100 bytes, splits at a slash
    const unsplittable = `${"x".repeat(150)}.txt`; // > 100 bytes with no slash: PAX
    const target = `${"t".repeat(120)}/target`;
    mkdirSync(join(root, deep), { recursive: true });
    writeFileSync(join(root, longFile), "long\n");
    writeFileSync(join(root, unsplittable), "pax\n");
    writeFileSync(join(root, "ünïcödé €.txt"), "utf-8\n");
    symlinkSync(target, join(root, "link"));
    const entries = [
      "d".repeat(60),
      `${"d".repeat(60)}/${"e".repeat(60)}`,
      deep,
      longFile,
      "link",
      unsplittable,
      "ünïcödé €.txt",
    ];

    const archive = await tarOf(entries);
    expect(archive.length % 512).toBe(0);
    const { listing, dir } = gnuTar(archive);

    expect(listing.map((line) => line.slice(line.indexOf(":") + 4))).toEqual([
      `${"d".repeat(60)}/`,
      `${"d".repeat(60)}/${"e".repeat(60)}/`,
      `${deep}/`,
      longFile,
      `link -> ${target}`,
      unsplittable,
      "ünïcödé €.txt",
    ]);
    expect(listing.every((line) => line.includes(" 0/0 "))).toBe(true);
    expect(execFileSync("cat", [join(dir, longFile), join(dir, unsplittable)]).toString()).toBe(
      "long\npax\n",
    );
  });

  it("keeps permission bits and whole-second mtimes, and ends with two zero blocks", async () => {
    writeFileSync(join(root, "run.sh"), "#!/bin/sh\n", { mode: 0o4755 });
    execFileSync("chmod", ["4755", join(root, "run.sh")]);
    execFileSync("touch", ["-d", "@1700000000.75", join(root, "run.sh")]);
    const archive = await tarOf(["run.sh"]);
    expect(archive.subarray(-1024).every((byte) => byte === 0)).toBe(true);
    const [line] = gnuTar(archive).listing;
    expect(line).toMatch(/^-rwsr-xr-x 0\/0\s+10 2023-11-14 \d\d:13 run\.sh$/);
    expect(archive.subarray(136, 147).toString("latin1")).toBe((1700000000).toString(8));
  });

  it("streams a big file in chunks and pads it to the block", async () => {
    const content = Buffer.alloc(300_001, 1);
    writeFileSync(join(root, "big.bin"), content);
    const chunks: Buffer[] = [];
    for await (const chunk of writeTar(root, ["big.bin"], [])) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(3);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBeLessThanOrEqual(128 * 1024);
    const archive = Buffer.concat(chunks);
    expect(archive.length).toBe(512 + Math.ceil(300_001 / 512) * 512 + 1024);
    expect(archive.subarray(512, 512 + 300_001).equals(content)).toBe(true);
  });

  it("says so when a file became shorter than its header promised", async () => {
    writeFileSync(join(root, "a.txt"), "x".repeat(200_000));
    const stream = writeTar(root, ["a.txt"], []);
    await stream.next();
    truncateSync(join(root, "a.txt"), 10);
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContextChangedError);
    expect(error).toMatchObject({ path: join(root, "a.txt") });
  });
});

describe("tarHeader", () => {
  it("counts a PAX record's own length digits, also where they roll over", () => {
    // " path=" + name + "\n" is 997 bytes for a 990-byte name; with a three-digit count that is
    // 1,000, which has four digits: the record is 1,001 bytes ("1001 path=…").
    for (const length of [101, 120, 985, 988, 989, 990, 991, 992, 993, 994, 995, 1000]) {
      const name = "p".repeat(length);
      const header = tarHeader({ name, type: "0", mode: 0o644, mtime: 0, size: 0, linkname: "" });
      const size = parseInt(header.subarray(124, 135).toString("latin1"), 8);
      const record = header.subarray(512, 512 + size).toString("utf8");
      expect(record).toBe(`${Buffer.byteLength(record)} path=${name}\n`);
    }
    const link = "l".repeat(92);
    const header = tarHeader({
      name: "a",
      type: "2",
      mode: 0o777,
      mtime: 0,
      size: 0,
      linkname: `${link}${"/x".repeat(5)}`,
    });
    const size = parseInt(header.subarray(124, 135).toString("latin1"), 8);
    const record = header.subarray(512, 512 + size).toString("utf8");
    expect(record).toBe(`${Buffer.byteLength(record)} linkpath=${link}${"/x".repeat(5)}\n`);
  });

  it("puts sizes and times beyond 11 octal digits in PAX records", () => {
    const header = tarHeader({
      name: "huge.bin",
      type: "0",
      mode: 0o644,
      mtime: -1,
      size: 2 ** 34,
      linkname: "",
    });
    const size = parseInt(header.subarray(124, 135).toString("latin1"), 8);
    const records = header.subarray(512, 512 + size).toString("utf8");
    expect(records).toContain(` size=${2 ** 34}\n`);
    expect(records).toContain(" mtime=-1\n");
    expect(header.length).toBe(512 + 512 + 512);
  });

  it("writes a device's numbers and a name that is not UTF-8 as its bytes, also in PAX", () => {
    const device = tarHeader({
      name: "null",
      type: "3",
      mode: 0o666,
      mtime: 0,
      size: 0,
      linkname: "",
      ...deviceNumbers(0x103),
    });
    expect(device.subarray(156, 157).toString("latin1")).toBe("3");
    expect(device.subarray(329, 336).toString("latin1")).toBe("0000001");
    expect(device.subarray(337, 344).toString("latin1")).toBe("0000003");

    const raw = `d\udce9/${"x".repeat(120)}\udcff`;
    const header = tarHeader({
      name: raw,
      type: "0",
      mode: 0o644,
      mtime: 0,
      size: 0,
      linkname: "",
    });
    const size = parseInt(header.subarray(124, 135).toString("latin1"), 8);
    const record = header.subarray(512, 512 + size);
    const expected = Buffer.concat([
      Buffer.from(" path=d"),
      Buffer.from([0xe9]),
      Buffer.from(`/${"x".repeat(120)}`),
      Buffer.from([0xff, 0x0a]),
    ]);
    expect(record.subarray(record.indexOf(0x20))).toEqual(expected);
    expect(record.toString("latin1")).toMatch(new RegExp(`^${record.length} `));
  });
});

describe("deviceNumbers", () => {
  it("splits st_rdev as fsutil does for docker build", () => {
    expect(deviceNumbers(0x0103)).toEqual({ devmajor: 1, devminor: 3 });
    expect(deviceNumbers(0x0700)).toEqual({ devmajor: 7, devminor: 0 });
    // Minor numbers above 255 sit above the major's 12 bits.
    expect(deviceNumbers(0x1234567n)).toEqual({ devmajor: 0x345, devminor: 0x1267 });
  });
});
