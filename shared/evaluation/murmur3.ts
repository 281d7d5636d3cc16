/**
 * MurmurHash3 x86 32-bit (Appleby, SMHasher `MurmurHash3_x86_32`) over the UTF-8 bytes
 * of a string, seed 0 by default, as an unsigned 32-bit integer.
 *
 * Proven identical to the `murmurhash` package (`v3`) and to the hash inside
 * `@amplitude/experiment-core` by property tests (murmur3.test.ts). We keep our own
 * copy because bucketing runs once per flag per request: this one hashes from a
 * reused byte buffer with `Math.imul`, where `murmurhash` allocates a TextEncoder
 * and its output per call.
 *
 * One encoding detail matters for parity: Amplitude's encoder writes a lone UTF-16
 * surrogate as its own 3-byte sequence, while TextEncoder replaces it with U+FFFD.
 * We follow Amplitude, since identical bucketing is the contract.
 */

let buffer = new Uint8Array(256);

/** Writes `text` as UTF-8 (lone surrogates kept as 3-byte sequences) into `buffer`; returns the length. */
function encode(text: string): number {
  const worstCase = text.length * 3;
  if (buffer.length < worstCase) buffer = new Uint8Array(Math.max(worstCase, buffer.length * 2));
  const out = buffer;
  let p = 0;
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

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3 x86 32 of the first `length` bytes of `bytes`. */
export function murmur3Bytes(bytes: Uint8Array, length: number = bytes.length, seed = 0): number {
  let h = seed | 0;
  const blocks = length & ~3;
  let i = 0;
  for (; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (length & 3) {
    case 3:
      k ^= bytes[i + 2]! << 16;
    // falls through
    case 2:
      k ^= bytes[i + 1]! << 8;
    // falls through
    case 1:
      k ^= bytes[i]!;
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 x86 32 of the UTF-8 encoding of `text`, unsigned. */
export function murmur3(text: string, seed = 0): number {
  const length = encode(text); // may grow `buffer`, so read it only afterwards
  return murmur3Bytes(buffer, length, seed);
}
