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
  fc.constantFrom(
    "",
    "{",
    "[]",
    "null",
    '{"user_id":1}',
    '{"context":[]}',
    '{"events":[{}]}',
    '{"user_id":"u","user_properties":{"a":[1,{"b":null}]}}',
  ),
);

const requestArb = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"),
  path: fc.oneof(
    fc.constantFrom(
      "/sdk/v2/vardata",
      "/sdk/v2/vardata?v=0",
      "/v1/vardata",
      "/sdk/v2/flags",
      "/ofrep/v1/evaluate/flags",
      "/ofrep/v1/evaluate/flags/sso",
      "/track",
      "/health",
    ),
    fc.webPath(),
    fc
      .tuple(fc.constantFrom("/v1/vardata?", "/ofrep/v1/evaluate/flags/"), fc.string({ maxLength: 40 }))
      .map(([a, b]) => a + encodeURIComponent(b)),
  ),
  authorization: fc.oneof(
    fc.constant(`Api-Key ${KEY}`),
    fc.constant(`Bearer ${KEY}`),
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
    fc.constant(undefined),
  ),
  user: fc.option(
    fc.oneof(
      jsonish.map(b64),
      fc.string({ maxLength: 50 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
    ),
    { nil: undefined },
  ),
  flagKeys: fc.option(jsonish.map(b64), { nil: undefined }),
  body: fc.option(jsonish, { nil: undefined }),
});

/** Any JSON value but a string, including objects whose `toString` is not a function. */
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom({ toString: 1 }, { valueOf: null }, { __proto__: { x: 1 } }, [{ toString: 1 }], [[]], {}),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** Valid bodies of every JSON route: each field, at any depth, is replaced by a non-string. */
const VALID_BODIES: Array<[string, string, unknown]> = [
  [
    "POST",
    "/v1/vardata",
    {
      user_id: "u",
      device_id: "d",
      flag_keys: ["sso", "beta"],
      user_properties: { plan: "pro" },
      groups: { company: ["acme"] },
    },
  ],
  ["POST", "/v1/vardata", { context: { user_id: "u", user_properties: { plan: "pro" } }, flag_key: "sso" }],
  [
    "POST",
    "/sdk/v2/vardata",
    {
      user_id: "u",
      device_id: "d",
      user_properties: { plan: "pro", n: 1 },
      groups: { company: ["acme"] },
      group_properties: { company: { acme: { size: "big" } } },
    },
  ],
  [
    "POST",
    "/track",
    {
      events: [
        {
          user_id: "u",
          event_type: "purchase",
          time: Date.now(),
          insert_id: "i",
          event_properties: { amount: 1 },
          user_properties: { plan: "pro" },
          groups: { company: "acme" },
        },
      ],
    },
  ],
  [
    "POST",
    "/track",
    { events: [{ user_id: "u", event_type: "$exposure", event_properties: { flag_key: "sso", variant: "on" } }] },
  ],
  ["POST", "/ofrep/v1/evaluate/flags", { context: { targetingKey: "u", plan: "pro", groups: { company: ["acme"] } } }],
  [
    "POST",
    "/2/httpapi",
    {
      api_key: KEY,
      events: [
        {
          user_id: "u",
          device_id: "d",
          event_type: "purchase",
          time: Date.now(),
          insert_id: "i",
          event_properties: { amount: 1 },
        },
      ],
      options: { min_id_length: 1 },
    },
  ],
  [
    "POST",
    "/batch",
    {
      api_key: KEY,
      events: [{ user_id: "u", event_type: "$exposure", event_properties: { flag_key: "sso", variant: "on" } }],
    },
  ],
  ["POST", "/ofrep/v1/evaluate/flags/sso", { context: { targetingKey: "u", user_id: "u", plan: "pro" } }],
];

/** Every path into a JSON value. */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [prefix];
  const children = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...children.flatMap(([key, child]) => paths(child, [...prefix, key]))];
}

function replaced(value: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[path[0]!] = replaced(copy[path[0]!], path.slice(1), replacement);
  return copy;
}

describe("HTTP fuzz", () => {
  it("never answers 5xx when any field of a valid body holds a non-string value", async () => {
    const cases = VALID_BODIES.flatMap(([method, path, body]) => paths(body).map((at) => ({ method, path, body, at })));
    const send = async ({ method, path, body, at }: (typeof cases)[number], value: unknown) => {
      const sent = JSON.stringify(replaced(body, at, value));
      const response = await fetch(edge.url + path, {
        method,
        headers: { "content-type": "application/json", authorization: `Api-Key ${KEY}` },
        body: sent,
      });
      const text = await response.text();
      expect(response.status, `${method} ${path} ${sent} → ${response.status} ${text}`).toBeLessThan(500);
    };
    // Every field with each kind of non-string, then random values anywhere.
    const kinds: unknown[] = [
      1,
      1.5,
      true,
      null,
      { toString: 1 },
      [{ toString: 1 }],
      [],
      {},
      [1, "a"],
      { a: { b: [null] } },
    ];
    for (const c of cases) await Promise.all(kinds.map((value) => send(c, value)));
    await fc.assert(fc.asyncProperty(fc.constantFrom(...cases), notAString, send), { numRuns: 300 });
  });

  it("never answers 5xx and always answers errors as JSON", async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (r.authorization !== undefined) headers["authorization"] = r.authorization;
        if (r.user !== undefined) headers["x-amp-exp-user"] = r.user;
        if (r.flagKeys !== undefined) headers["x-amp-exp-flag-keys"] = r.flagKeys;
        const hasBody = r.body !== undefined && r.method !== "GET" && r.method !== "OPTIONS";
        const response = await fetch(edge.url + r.path, {
          method: r.method,
          headers,
          ...(hasBody ? { body: r.body } : {}),
        });
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
