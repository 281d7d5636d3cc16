import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deploymentDocumentSchema, readEnvelope } from "../../shared/deployment-document.js";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import { loadDeployment } from "./deployment-loader.js";

const flag = (key: string, variant = "on", extra: Partial<EvaluationFlag> = {}): EvaluationFlag => ({
  key,
  variants: { [variant]: { key: variant, value: variant } },
  segments: [{ variant }],
  ...extra,
});
const document = (version: number, flags: unknown[], hashes?: Record<string, string>) =>
  JSON.stringify({
    schemaVersion: 1,
    deployment: "web",
    keyType: "server",
    version,
    contentHash: `c${version}`,
    publishedAt: "2026-11-25T00:00:00Z",
    flags,
    ...(hashes ? { flagHashes: hashes } : {}),
  });
const context = { user: { user_id: "u1" } };

describe("loading a deployment document", () => {
  it("serves a flag that cannot compile as absent, and every other flag", () => {
    const logged: string[] = [];
    const broken = {
      key: "broken",
      variants: {},
      segments: [{ bucket: { selector: ["context", "user", "user_id"], salt: "s", allocations: "not a list" } }],
    };
    const loaded = loadDeployment(document(1, [flag("a"), broken, flag("b")]), undefined, (message) =>
      logged.push(message),
    );
    expect(Object.keys(loaded.compiled.evaluate(context))).toEqual(["a", "b"]);
    expect(logged.join()).toContain("Serving flag broken as absent");
    // Local-evaluation SDKs are sent only the flags that pass the full check.
    expect(loaded.compiled.validFlags.map((f) => f.key)).toEqual(["a", "b"]);
  });

  it("refuses a document whose envelope is wrong (the isolate keeps its last good copy)", () => {
    for (const bad of [
      "not json",
      JSON.stringify({
        schemaVersion: 2,
        deployment: "web",
        keyType: "server",
        version: 1,
        publishedAt: "x",
        flags: [],
      }),
      document(1, [{ variants: {} }]),
      document(1, [flag("a", "on", { dependencies: [1 as unknown as string] })]),
      document(-1, []),
    ]) {
      expect(() => loadDeployment(bad)).toThrow();
    }
  });

  it("keeps the compiled form of flags a publish did not change, and only those", () => {
    const v1 = loadDeployment(document(1, [flag("a"), flag("b")], { a: "ha1", b: "hb" }));
    v1.compiled.evaluateWithReasons(context); // a first use interprets; the second compiles
    const before = v1.compiled.evaluateWithReasons(context);
    const v2 = loadDeployment(document(2, [flag("a", "other"), flag("b")], { a: "ha2", b: "hb" }), v1);
    const after = v2.compiled.evaluateWithReasons(context);
    expect(after["b"]).toBe(before["b"]); // the same frozen outcome: nothing recompiled
    expect(after["a"]!.variant.key).toBe("other");
    // Without hashes nothing is carried over.
    const v3 = loadDeployment(document(3, [flag("a", "other"), flag("b")]), v2);
    expect(v3.compiled.evaluateWithReasons(context)["b"]).not.toBe(after["b"]);
    expect(v3.compiled.evaluateWithReasons(context)["b"]).not.toBe(after["b"]); // compiled anew
  });

  it("reads envelopes exactly as the document schema does (outside the flags' insides)", () => {
    const value = fc.oneof(
      fc.constant(undefined),
      fc.string(),
      fc.integer({ min: -2, max: 3 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant([]),
      fc.constant({}),
    );
    const envelope = fc.record(
      {
        schemaVersion: fc.oneof(fc.constant(1), value),
        project: fc.oneof(fc.string(), value),
        deployment: fc.oneof(fc.constantFrom("web", ""), value),
        keyType: fc.oneof(fc.constantFrom("client", "server"), value),
        version: fc.oneof(fc.nat(), fc.double(), value),
        contentHash: fc.oneof(fc.string(), value),
        publishedAt: fc.oneof(fc.string(), value),
        trackExposures: fc.oneof(fc.boolean(), value),
        flags: fc.oneof(fc.constant([flag("a")]), fc.constant([]), value),
        flagHashes: fc.oneof(fc.constant({ a: "h" }), fc.constant({ a: 1 }), value),
        breakdownProperties: fc.oneof(fc.constant(["plan"]), fc.constant([1]), value),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(envelope, (raw) => {
        const bySchema = deploymentDocumentSchema.safeParse(raw);
        let ours: ReturnType<typeof readEnvelope> | undefined;
        try {
          ours = readEnvelope(raw);
        } catch {
          ours = undefined;
        }
        expect(ours !== undefined).toBe(bySchema.success);
        if (ours && bySchema.success) expect(ours.trackExposures).toBe(bySchema.data.trackExposures);
      }),
      { numRuns: 2000 },
    );
  });
});
