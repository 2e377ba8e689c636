/**
 * Context paths are JavaScript strings, but Linux file names are bytes, and `docker build` sends a
 * name that is not UTF-8 byte for byte (fsutil walks Go strings, which are bytes). A name is read
 * here as UTF-8 where it is valid, and each byte of an invalid sequence becomes the lone surrogate
 * U+DC80 + (byte - 0x80), as Python's `surrogateescape` does: nothing valid decodes to a lone
 * surrogate, so the string holds the exact bytes and `encodePath` gives them back.
 */

// A low surrogate in U+DC80..U+DCFF that is not the second half of a pair: an escaped byte.
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
// ignoreBOM keeps a leading U+FEFF: it is part of a name (TextDecoder drops it by default).
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** True when a path holds bytes that are not UTF-8 (see `decodeName`). */
export function hasRawBytes(path: string): boolean {
  return ESCAPED_BYTE.test(path);
}

/** Reads a file name's bytes as a context path: UTF-8, with the bytes that are not escaped. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

/** The bytes of a context path: its UTF-8, with escaped bytes (see `decodeName`) as they were. */
export function encodePath(path: string): Buffer {
  if (!hasRawBytes(path)) return Buffer.from(path);
  const bytes: number[] = [];
  for (const char of path) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xdc80 && code <= 0xdcff) bytes.push(code - 0xdc00);
    else for (const byte of Buffer.from(char)) bytes.push(byte);
  }
  return Buffer.from(bytes);
}

/** A path for node:fs: the string itself, or its bytes when it holds escaped ones. */
export function toFsPath(path: string): string | Buffer {
  return hasRawBytes(path) ? encodePath(path) : path;
}

/** UTF-8 decoding that keeps every byte of an ill-formed sequence as an escaped byte. */
function decodeEscaping(bytes: Uint8Array): string {
  let out = "";
  let at = 0;
  while (at < bytes.length) {
    const length = validSequenceLength(bytes, at);
    if (length === 0) {
      out += String.fromCharCode(0xdc00 + (bytes[at] ?? 0));
      at += 1;
    } else {
      out += Buffer.from(bytes.subarray(at, at + length)).toString("utf8");
      at += length;
    }
  }
  return out;
}

/** The length of the well-formed UTF-8 sequence at `at` (RFC 3629), or 0 when there is none. */
function validSequenceLength(bytes: Uint8Array, at: number): number {
  const first = bytes[at] ?? 0;
  const next = (offset: number): number => bytes[at + offset] ?? 0;
  const isTail = (byte: number): boolean => byte >= 0x80 && byte <= 0xbf;
  if (first < 0x80) return 1;
  if (first >= 0xc2 && first <= 0xdf) return isTail(next(1)) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const second = next(1);
    // No overlong forms (E0 80..9F) and no UTF-16 surrogates (ED A0..BF).
    const low = first === 0xe0 ? 0xa0 : 0x80;
    const high = first === 0xed ? 0x9f : 0xbf;
    return second >= low && second <= high && isTail(next(2)) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const second = next(1);
    // No overlong forms (F0 80..8F) and nothing beyond U+10FFFF (F4 90..BF).
    const low = first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xf4 ? 0x8f : 0xbf;
    return second >= low && second <= high && isTail(next(2)) && isTail(next(3)) ? 4 : 0;
  }
  return 0;
}
