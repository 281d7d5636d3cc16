import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseVersion } from "./semver.js";

// The reference engine's pattern, kept here only to prove ours accepts the same language.
const REFERENCE = /^(\d+)\.(\d+)(\.(\d+)(-(([-\w]+\.?)*))?)?$/;

describe("parseVersion", () => {
  it("accepts exactly what the reference pattern accepts, with the same groups", () => {
    const piece = fc.constantFrom("1", "02", "10", ".", "-", "a", "B", "_", "rc", "..", "x-1", "+", " ", "!", "٣", "é");
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }).map((p) => p.join("")),
        (text) => {
          const ours = parseVersion(text);
          const reference = REFERENCE.exec(text);
          expect(ours).toEqual(
            reference
              ? {
                  major: Number(reference[1]),
                  minor: Number(reference[2]),
                  patch: Number(reference[4]) || 0,
                  preRelease: reference[5] || undefined,
                }
              : undefined,
          );
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("answers a pathological prerelease in linear time", () => {
    const evil = `1.0.0-${"a".repeat(50_000)}!`;
    const started = performance.now();
    expect(parseVersion(evil)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
