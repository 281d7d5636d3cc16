import { describe, expect, it } from "vitest";
import { buildWithWrangler, BUNDLE_BUDGET } from "./bundle.js";

describe("the deployed worker", () => {
  it("builds with wrangler for production and the environments, within its size budget", () => {
    for (const environment of [undefined, "staging", "cdn"]) {
      const size = buildWithWrangler(environment);
      expect(size.rawKiB, `${environment ?? "production"}: ${JSON.stringify(size)}`).toBeLessThan(BUNDLE_BUDGET.rawKiB);
      expect(size.gzipKiB).toBeLessThan(BUNDLE_BUDGET.gzipKiB);
    }
  }, 120_000);
});
