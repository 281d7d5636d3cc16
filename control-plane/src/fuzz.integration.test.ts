/**
 * Random requests against the control plane on real dynalite: flags that are valid but
 * for one or two fields, actions and versions in any order, odd paths and headers.
 * Whatever arrives, the answer is never a 5xx and every error is our JSON error shape.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await stack.api("POST", "/projects", { key: "shop", name: "Shop" });
  await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Website" });
  await stack.api("PUT", "/projects/shop/groups/checkout", { kind: "mutex", name: "Checkout" });
});
afterAll(() => stack?.dispose());

const FLAG_KEYS = ["a", "b", "c"];
const flagKey = fc.constantFrom(...FLAG_KEYS);

const RELEASE = { type: "release", variants: [{ key: "on" }] };
const EXPERIMENT = {
  type: "experiment",
  variants: [{ key: "control" }, { key: "treatment", payload: { x: 1 } }],
  primaryMetric: { key: "buy", type: "unique_conversions", eventType: "purchase" },
};

const validFlag = fc
  .record({
    key: flagKey,
    name: fc.constant("Fuzzed"),
    kind: fc.constantFrom(RELEASE, EXPERIMENT),
    deployments: fc.constantFrom([], ["web"], ["web"]),
    rollout: fc.integer({ min: 0, max: 100 }),
    segments: fc.constantFrom(
      [],
      [{ name: "beta", conditions: [{ property: "beta", op: "is", values: ["true"] }], rollout: 50 }],
    ),
    prerequisites: fc.constantFrom(
      [],
      [],
      [{ flagKey: "a", variants: ["on"] }],
      [{ flagKey: "b", variants: ["treatment"] }],
    ),
    groups: fc.constantFrom([], [], ["checkout"], ["missing"]),
  })
  .map(({ kind, ...flag }) => ({ ...flag, ...kind }));

const OVERRIDABLE = [
  "key",
  "type",
  "variants",
  "weights",
  "bucketing",
  "rollout",
  "segments",
  "inclusions",
  "exclusions",
  "prerequisites",
  "groups",
  "deployments",
  "version",
  "confidenceLevel",
];
const overrides = fc.array(fc.tuple(fc.constantFrom(...OVERRIDABLE), fc.jsonValue({ maxDepth: 3 })), {
  minLength: 1,
  maxLength: 2,
});

/** A valid flag, half of the time with one or two fields replaced by any JSON; and its key. */
const flagWithKey = fc
  .tuple(validFlag, fc.oneof(fc.constant([]), overrides))
  .map(([flag, replaced]) => ({ key: flag.key, body: JSON.stringify({ ...flag, ...Object.fromEntries(replaced) }) }));
const flagBody = flagWithKey.map(({ body }) => body);

const body = fc.oneof(
  flagBody,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("", "{", "null", '{"version":"1"}', '{"variant":"treatment","version":2}'),
);

const path = fc.oneof(
  fc.constantFrom(
    "/projects",
    "/projects/shop",
    "/projects/shop/flags",
    "/projects/shop/deployments",
    "/projects/shop/deployments/web",
    "/projects/shop/groups",
    "/tokens",
    "/projects/nope/flags",
  ),
  flagKey.map((key) => `/projects/shop/flags/${key}`),
  fc
    .tuple(flagKey, fc.constantFrom("versions", "versions/1", "versions/0/restore", "nonsense"))
    .map(([key, action]) => `/projects/shop/flags/${key}/${action}`),
  fc.constantFrom(
    "/projects/shop/deployments/web/rotate-keys",
    "/projects/shop/deployments/web/publish",
    "/projects/shop/groups/checkout",
  ),
  fc.webPath(),
);

const ifMatch = fc.option(
  fc.oneof(
    fc.integer({ min: 1, max: 6 }).map((v) => `"${v}"`),
    fc.string({ maxLength: 8 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
  ),
  { nil: undefined, freq: 8 },
);
const versionBody = fc
  .record({ version: fc.integer({ min: 0, max: 8 }), variant: fc.constantFrom(undefined, "on", "treatment", "nope") })
  .map((b) => JSON.stringify(b));

/** Mostly the flag routes with the right methods, so requests get past routing into the services. */
const request = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/projects/shop/flags"),
      body: flagBody,
      ifMatch: fc.constant(undefined),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(flagWithKey, ifMatch).map(([{ key, body }, version]) => ({
      method: "PUT",
      path: `/projects/shop/flags/${key}`,
      body,
      ifMatch: version,
    })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant("POST"),
      path: fc
        .tuple(
          flagKey,
          fc.constantFrom(
            "start",
            "stop",
            "decide",
            "activate",
            "deactivate",
            "archive",
            "unarchive",
            "versions/1/restore",
            "versions/2/restore",
            "versions/99/restore",
          ),
        )
        .map(([key, action]) => `/projects/shop/flags/${key}/${action}`),
      body: fc.option(versionBody, { nil: undefined }),
      ifMatch,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
      path,
      body: fc.option(body, { nil: undefined }),
      ifMatch,
    }),
  },
);

it("never answers 5xx and always answers errors as JSON", async () => {
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${stack.adminToken}`,
        "content-type": "application/json",
      };
      if (r.ifMatch !== undefined) headers["if-match"] = r.ifMatch;
      const hasBody = r.body !== undefined && r.method !== "GET";
      const response = await fetch(stack.controlPlane.url + r.path, {
        method: r.method,
        headers,
        ...(hasBody ? { body: r.body } : {}),
      });
      const text = await response.text();
      expect(response.status, `${r.method} ${r.path} ${r.body ?? ""} → ${response.status} ${text}`).toBeLessThan(500);
      if (response.status >= 400) expect(typeof JSON.parse(text).error?.message).toBe("string");
    }),
    { numRuns: 500 },
  );
  // 500 requests on dynalite: 40 to 82 s a run at a load average of 12 on 2 cores, so 120 s was near.
}, 300_000);
