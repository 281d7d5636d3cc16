/**
 * Random requests against the edge in workerd: whatever the method, path, headers
 * and body, the answer is never a 5xx, and every error is our JSON error shape.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../../test/support/edge-harness.js";
import { TEST_FLAGS } from "../../test/support/flags.js";

const KEY = "fuzz-key-000001";
let edge: EdgeHarness;

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(KEY, { keyType: "server", flags: TEST_FLAGS });
});
afterAll(() => edge.dispose());

const b64 = (text: string) => Buffer.from(text).toString("base64url");
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom("", "{", "[]", "null", '{"user_id":1}', '{"context":[]}', '{"events":[{}]}', '{"user_id":"u","user_properties":{"a":[1,{"b":null}]}}'),
);

const requestArb = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
  path: fc.oneof(
    fc.constantFrom("/sdk/v2/vardata", "/sdk/v2/vardata?v=0", "/v1/vardata", "/sdk/v2/flags", "/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/sso", "/track", "/health"),
    fc.webPath(),
    fc.tuple(fc.constantFrom("/v1/vardata?", "/ofrep/v1/evaluate/flags/"), fc.string({ maxLength: 40 })).map(([a, b]) => a + encodeURIComponent(b)),
  ),
  authorization: fc.oneof(fc.constant(`Api-Key ${KEY}`), fc.constant(`Bearer ${KEY}`), fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")), fc.constant(undefined)),
  user: fc.option(fc.oneof(jsonish.map(b64), fc.string({ maxLength: 50 }).map((s) => s.replace(/[^\x20-\x7e]/g, ""))), { nil: undefined }),
  flagKeys: fc.option(jsonish.map(b64), { nil: undefined }),
  body: fc.option(jsonish, { nil: undefined }),
});

describe("HTTP fuzz", () => {
  it("never answers 5xx and always answers errors as JSON", async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (r.authorization !== undefined) headers["authorization"] = r.authorization;
        if (r.user !== undefined) headers["x-amp-exp-user"] = r.user;
        if (r.flagKeys !== undefined) headers["x-amp-exp-flag-keys"] = r.flagKeys;
        const hasBody = r.body !== undefined && r.method !== "GET" && r.method !== "OPTIONS";
        const response = await fetch(edge.url + r.path, { method: r.method, headers, ...(hasBody ? { body: r.body } : {}) });
        const text = await response.text();
        expect(response.status, `${r.method} ${r.path} → ${response.status} ${text}`).toBeLessThan(500);
        if (response.status >= 400) {
          const body = JSON.parse(text);
          expect(typeof (body.error?.message ?? body.errorDetails)).toBe("string");
        }
      }),
      { numRuns: 400 },
    );
  });
});
