import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VERSION_PATTERN } from "./semver.js";

// The reference engine's pattern, kept here only to prove ours accepts the same language.
const REFERENCE = /^(\d+)\.(\d+)(\.(\d+)(-(([-\w]+\.?)*))?)?$/;

describe("VERSION_PATTERN", () => {
  it("accepts exactly what the reference pattern accepts, with the same groups", () => {
    const piece = fc.constantFrom("1", "02", "10", ".", "-", "a", "B", "_", "rc", "..", "x-1", "+", " ", "!");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((p) => p.join("")),
        (text) => {
          const ours = VERSION_PATTERN.exec(text);
          const reference = REFERENCE.exec(text);
          expect(ours?.slice(1, 3)).toEqual(reference?.slice(1, 3));
          expect(ours?.[4]).toEqual(reference?.[4]);
          expect(ours?.[5]).toEqual(reference?.[5]);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("answers a pathological prerelease in linear time", () => {
    const evil = `1.0.0-${"a".repeat(50_000)}!`;
    const started = performance.now();
    expect(VERSION_PATTERN.test(evil)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
