/**
 * MurmurHash3 x86 32-bit (Appleby, SMHasher `MurmurHash3_x86_32`) over the UTF-8 bytes
 * of a string, seed 0 by default, as an unsigned 32-bit integer.
 *
 * Proven identical to the `murmurhash` package (`v3`) and to the hash inside
 * `@amplitude/experiment-core` by property tests (murmur3.test.ts). We keep our own
 * copy because bucketing runs once per flag per request: `prefixedMurmur3` hashes a
 * flag's salt once at compile time and each request's ID once per request, where
 * `murmurhash` would encode and hash the whole `salt/id` string for every flag.
 *
 * One encoding detail matters for parity: Amplitude's encoder writes a lone UTF-16
 * surrogate as its own 3-byte sequence, while TextEncoder replaces it with U+FFFD.
 * We follow Amplitude, since identical bucketing is the contract.
 */

/**
 * UTF-8 bytes of `text` (lone surrogates kept as 3-byte sequences) written into `out` from
 * `start`; returns where they end. `out` must have room for 3 bytes per UTF-16 unit.
 */
function encodeInto(text: string, out: Uint8Array, start = 0): number {
  let p = start;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[p++] = c;
    } else if (c < 0x800) {
      out[p++] = (c >> 6) | 0xc0;
      out[p++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x3ff) << 10) + (text.charCodeAt(++i) & 0x3ff);
      out[p++] = (c >> 18) | 0xf0;
      out[p++] = ((c >> 12) & 0x3f) | 0x80;
      out[p++] = ((c >> 6) & 0x3f) | 0x80;
      out[p++] = (c & 0x3f) | 0x80;
    } else {
      out[p++] = (c >> 12) | 0xe0;
      out[p++] = ((c >> 6) & 0x3f) | 0x80;
      out[p++] = (c & 0x3f) | 0x80;
    }
  }
  return p;
}

function encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  return out.subarray(0, encodeInto(text, out));
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const mixBlock = (h: number, k: number): number => {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
};

const mixTail = (h: number, k: number): number => {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return h ^ Math.imul(k, C2);
};

const finalize = (h: number, length: number): number => {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

/** MurmurHash3 x86 32 over `bytes[start, end)`, from state `h`, finalized with `length`. */
function hashRange(bytes: Uint8Array, start: number, end: number, h: number, length: number): number {
  const blocksEnd = start + ((end - start) & ~3);
  let i = start;
  for (; i < blocksEnd; i += 4)
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  let k = 0;
  switch (end - i) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: murmur3's tail takes the 3rd, 2nd, then 1st byte
    case 3:
      k ^= bytes[i + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      k ^= bytes[i + 1]! << 8;
    case 1:
      k ^= bytes[i]!;
      h = mixTail(h, k);
  }
  return finalize(h, length);
}

/** MurmurHash3 x86 32 of the first `length` bytes of `bytes`. */
export function murmur3Bytes(bytes: Uint8Array, length: number = bytes.length, seed = 0): number {
  return hashRange(bytes, 0, length, seed | 0, length);
}

/** MurmurHash3 x86 32 of the UTF-8 encoding of `text`, unsigned. */
export function murmur3(text: string, seed = 0): number {
  const bytes = encode(text);
  return murmur3Bytes(bytes, bytes.length, seed);
}

// The last IDs hashed by `prefixedMurmur3`, kept encoded: one request buckets many flags
// by the same user or device ID, so each ID is encoded once, not once per flag. Each is
// stored from offset CARRY, leaving room in front for up to three bytes of a prefix.
const CARRY = 3;
const RECENT = 2;
const recentText: string[] = new Array<string>(RECENT).fill("");
const recentBytes: Uint8Array[] = Array.from({ length: RECENT }, () => new Uint8Array(256));
const recentLength = new Int32Array(RECENT).fill(-1);
let nextSlot = 0;

function encodedSlot(text: string): number {
  for (let slot = 0; slot < RECENT; slot++) if (recentLength[slot]! >= 0 && recentText[slot] === text) return slot;
  const slot = nextSlot;
  nextSlot = (nextSlot + 1) % RECENT;
  if (recentBytes[slot]!.length < CARRY + text.length * 3) recentBytes[slot] = new Uint8Array(CARRY + text.length * 3);
  recentLength[slot] = encodeInto(text, recentBytes[slot]!, CARRY) - CARRY;
  recentText[slot] = text;
  return slot;
}

/**
 * `murmur3(prefix + value)` for a fixed prefix, with the prefix's whole 4-byte blocks
 * hashed once up front. Bucketing hashes `salt + "/" + id` for every flag: the salt
 * part is the same for every request, so it is never hashed again. (The prefix must
 * not end in half of a surrogate pair; a salt followed by "/" never does.)
 */
export function prefixedMurmur3(prefix: string): (value: string) => number {
  // Encoded into a shared scratch buffer: a cold isolate compiles thousands of these, and
  // typed arrays are costly to allocate. Only the midstate and the 0–3 bytes that begin
  // the next block are kept.
  if (scratch.length < prefix.length * 3) scratch = new Uint8Array(prefix.length * 3);
  const prefixLength = encodeInto(prefix, scratch);
  const blocks = prefixLength & ~3;
  const midstate = hashRangeState(scratch, blocks);
  const carryLength = prefixLength - blocks;
  const c0 = scratch[blocks] ?? 0;
  const c1 = scratch[blocks + 1] ?? 0;
  const c2 = scratch[blocks + 2] ?? 0;
  const start = CARRY - carryLength;

  return (value) => {
    const slot = encodedSlot(value);
    const bytes = recentBytes[slot]!;
    if (carryLength > 0) bytes[start] = c0;
    if (carryLength > 1) bytes[start + 1] = c1;
    if (carryLength > 2) bytes[start + 2] = c2;
    return hashRange(bytes, start, CARRY + recentLength[slot]!, midstate, prefixLength + recentLength[slot]!);
  };
}

let scratch = new Uint8Array(256);

/**
 * `murmur3(prefix + value)` for a single use (a flag evaluated once, see compile.ts):
 * encoded into the shared scratch buffer, so nothing is allocated and nothing kept. (As for
 * `prefixedMurmur3`, the prefix must not end in half of a surrogate pair.)
 */
export function murmur3Concat(prefix: string, value: string): number {
  const room = (prefix.length + value.length) * 3;
  if (scratch.length < room) scratch = new Uint8Array(room);
  const length = encodeInto(value, scratch, encodeInto(prefix, scratch));
  return hashRange(scratch, 0, length, 0, length);
}

/** The state after mixing the first `blocks` bytes (a multiple of 4), not finalized. */
function hashRangeState(bytes: Uint8Array, blocks: number): number {
  let h = 0;
  for (let i = 0; i < blocks; i += 4)
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  return h;
}
