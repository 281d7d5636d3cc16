import { EvaluationEngine } from "@amplitude/experiment-core";
import fc from "fast-check";
import murmurhash from "murmurhash";
import { describe, expect, it } from "vitest";
import { murmur3, murmur3Concat, prefixedMurmur3 } from "./murmur3.js";

const amplitudeHash = (text: string): number =>
  (new EvaluationEngine() as unknown as { getHash(k: string): number }).getHash(text);

describe("murmur3", () => {
  it("matches the published test vector of the design", () => {
    expect(murmur3("abc123/user-1")).toBe(3654354725);
    expect(murmur3("abc123/user-4")).toBe(983228003);
    expect(murmur3("abc123/user-2")).toBe(1436794186);
  });

  it("is identical to the murmurhash package on well-formed unicode", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (text) => {
        expect(murmur3(text)).toBe(murmurhash.v3(text, 0));
      }),
      { numRuns: 2000 },
    );
  });

  it("is identical to @amplitude/experiment-core on any UTF-16, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (text) => {
        expect(murmur3(text)).toBe(amplitudeHash(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("prefixedMurmur3(prefix)(value) and murmur3Concat(prefix, value) equal murmur3(prefix + value), any alignment", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 9 }),
        fc.array(fc.string({ unit: "binary", maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        (salt, values) => {
          const hash = prefixedMurmur3(`${salt}/`);
          // Repeated and interleaved values exercise the cache of recently encoded IDs.
          for (const value of [...values, ...values]) {
            expect(hash(value)).toBe(amplitudeHash(`${salt}/${value}`));
            expect(murmur3Concat(`${salt}/`, value)).toBe(amplitudeHash(`${salt}/${value}`));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("handles inputs longer than its scratch buffer", () => {
    const long = `${"é".repeat(5000)}x`;
    expect(murmur3(long)).toBe(murmurhash.v3(long, 0));
    expect(prefixedMurmur3("salt/")(long)).toBe(murmurhash.v3(`salt/${long}`, 0));
    expect(murmur3Concat(`${long}/`, long)).toBe(murmurhash.v3(`${long}/${long}`, 0));
  });
});
