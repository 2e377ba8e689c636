// Go strings are UTF-8 bytes: BuildKit indexes and measures them by byte, JavaScript by UTF-16 unit.

/**
 * A string seen as its UTF-8 bytes, encoded lazily, for the BuildKit code that indexes Go strings by
 * byte (flags, HEALTHCHECK). Cutting inside a character gives U+FFFD for each byte cut off, where Go
 * would keep the invalid bytes.
 */
export class Utf8View {
  private readonly bytes: number[] = [];
  /** For each byte, the UTF-16 index where its character starts. */
  private readonly owners: number[] = [];
  private encodedUpTo = 0;

  constructor(private readonly text: string) {}

  /** The byte at `position`, or undefined past the end. */
  at(position: number): number | undefined {
    while (this.bytes.length <= position && this.encodedUpTo < this.text.length) {
      this.encodeNextCharacter();
    }
    return this.bytes[position];
  }

  /** The text from byte `position` on (Go `s[position:]`). */
  sliceFrom(position: number): string {
    if (this.at(position) === undefined) return "";
    const owner = this.owners[position] ?? 0;
    if (position === 0 || this.owners[position - 1] !== owner) return this.text.slice(owner);
    let prefix = "";
    let next = position;
    while (this.owners[next] === owner) {
      prefix += "\uFFFD";
      next++;
    }
    return prefix + this.text.slice(this.owners[next] ?? this.encodedUpTo);
  }

  /** The text before byte `position` (Go `s[:position]`). */
  sliceTo(position: number): string {
    if (this.at(position) === undefined) return this.text;
    const owner = this.owners[position] ?? 0;
    let cut = 0;
    for (let before = position - 1; before >= 0 && this.owners[before] === owner; before--) cut++;
    return this.text.slice(0, owner) + "\uFFFD".repeat(cut);
  }

  private encodeNextCharacter(): void {
    const start = this.encodedUpTo;
    const point = this.text.codePointAt(start) ?? 0;
    this.encodedUpTo += point > 0xffff ? 2 : 1;
    // A lone surrogate encodes as U+FFFD, as TextEncoder does.
    const code = point >= 0xd800 && point <= 0xdfff ? 0xfffd : point;
    if (code < 0x80) {
      this.push(start, code);
    } else if (code < 0x800) {
      this.push(start, 0xc0 | (code >> 6));
      this.push(start, 0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      this.push(start, 0xe0 | (code >> 12));
      this.push(start, 0x80 | ((code >> 6) & 0x3f));
      this.push(start, 0x80 | (code & 0x3f));
    } else {
      this.push(start, 0xf0 | (code >> 18));
      this.push(start, 0x80 | ((code >> 12) & 0x3f));
      this.push(start, 0x80 | ((code >> 6) & 0x3f));
      this.push(start, 0x80 | (code & 0x3f));
    }
  }

  private push(owner: number, byte: number): void {
    this.bytes.push(byte);
    this.owners.push(owner);
  }
}

/** The UTF-8 length of `text[start:end]`, stopping early once it exceeds `limit`. */
export function utf8LengthExceeds(
  text: string,
  start: number,
  end: number,
  limit: number,
): boolean {
  if (end - start <= limit / 3) return false;
  if (end - start > limit) return true;
  let length = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < end) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        length += 4;
        i++;
      } else {
        length += 3;
      }
    } else length += 3;
    if (length > limit) return true;
  }
  return false;
}

/** The UTF-8 length of `text` (Go's `len(s)`). */
export function utf8Length(text: string): number {
  let length = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    length += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return length;
}

/** Go's `line[1:]` on a string: cutting a multi-byte first character leaves invalid bytes (U+FFFD). */
export function dropFirstByte(line: string): string {
  const code = line.codePointAt(0) ?? 0;
  const width = code > 0xffff ? 2 : 1;
  const bytes = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  return "\uFFFD".repeat(bytes - 1) + line.slice(width);
}
