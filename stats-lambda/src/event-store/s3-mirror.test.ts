/** The mirror's bound as the Lambda reads it from its environment. */
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_PROJECT_BYTES, maxProjectBytesFrom } from "./s3-mirror.js";

describe("EVENT_MIRROR_MAX_BYTES", () => {
  it("takes a positive whole number of bytes", () => {
    expect(maxProjectBytesFrom("1048576")).toBe(1_048_576);
    expect(maxProjectBytesFrom(String(2 * 1024 ** 3))).toBe(2 * 1024 ** 3);
  });

  it("falls back to the default for unset, empty, zero, negative, fractional or unit-suffixed values", () => {
    // An empty variable must not become a bound of 0 bytes, which would refuse every project.
    for (const value of [undefined, "", " ", "0", "-5", "1.5", "5GB", "NaN", "Infinity"])
      expect(maxProjectBytesFrom(value)).toBe(DEFAULT_MAX_PROJECT_BYTES);
  });
});
