import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { flagInputSchema, groupSchema } from "../../shared/authoring/schema.js";
import { startStack, type Stack } from "../../test/support/stack.js";
import { EXAMPLES } from "./routes/schemas.js";
import { droppedFields } from "./routes/strict-fields.js";

let stack: Stack;
let clientKey: string;
let serverKey: string;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const edgeVariant = async (key: string, flag: string, user: object) => {
  const response = await fetch(`${stack.edge.url}/sdk/v2/vardata`, {
    headers: { authorization: `Api-Key ${key}`, "x-amp-exp-user": b64url(user) },
  });
  if (response.status !== 200) return `HTTP ${response.status}`;
  return ((await response.json()) as Record<string, { key?: string }>)[flag]?.key;
};

const experiment = {
  key: "checkout-redesign",
  name: "Checkout redesign",
  type: "experiment",
  variants: [{ key: "control" }, { key: "treatment", payload: { layout: "one-page" } }],
  deployments: ["web"],
  primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase_completed" },
  hypothesis: { problem: "Checkout drop-off", proposedChange: "One-page checkout", predictedResult: "+2% purchases" },
};

beforeAll(async () => {
  stack = await startStack();
  expect((await stack.api("POST", "/projects", { key: "shop", name: "Shop" })).status).toBe(201);
  const created = await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Website" });
  expect(created.status).toBe(201);
  ({ clientKey, serverKey } = created.body);
});
afterAll(() => stack?.dispose());

describe("control plane", () => {
  it("serves its OpenAPI document and docs page without a token, and nothing else", async () => {
    const doc = (await (await fetch(`${stack.controlPlane.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/projects/{project}/flags/{flag}", "/projects/{project}/deployments"]),
    );
    // Every operation has a summary, and every request body an example.
    const operations = Object.values(
      doc.paths as Record<
        string,
        Record<string, { summary?: string; requestBody?: { content: Record<string, { example?: unknown }> } }>
      >,
    ).flatMap((path) => Object.values(path));
    expect(operations.length).toBeGreaterThanOrEqual(23);
    for (const operation of operations) {
      expect(operation.summary).toBeTruthy();
      for (const media of Object.values(operation.requestBody?.content ?? {})) expect(media.example).toBeDefined();
    }
    // The examples are valid requests: no unknown field, nothing invalid.
    for (const [schema, example] of [
      [flagInputSchema, EXAMPLES.experiment],
      [groupSchema.omit({ key: true }).extend({ version: z.number().optional() }), EXAMPLES.group],
    ] as const) {
      const parsed = schema.safeParse(example);
      expect(parsed.success).toBe(true);
      expect(droppedFields(example, parsed.data)).toEqual([]);
    }
    const docs = await fetch(`${stack.controlPlane.url}/docs`);
    expect(docs.status).toBe(200);
    const page = await docs.text();
    expect(page).not.toMatch(/https?:\/\//); // everything served by us: the docs work offline
    for (const [asset, type] of [
      ["swagger-ui-bundle.js", "javascript"],
      ["swagger-ui.css", "css"],
    ]) {
      expect(page).toContain(`/docs/${asset}`);
      const response = await fetch(`${stack.controlPlane.url}/docs/${asset}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain(type);
      expect((await response.text()).length).toBeGreaterThan(10_000);
    }
    expect((await fetch(`${stack.controlPlane.url}/docs/../package.json`)).status).toBe(404);
    const anonymous = await fetch(`${stack.controlPlane.url}/projects`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("creates an experiment, starts it, and the edge serves it", async () => {
    const created = await stack.api("POST", "/projects/shop/flags", experiment);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "draft", version: 1 });
    expect(created.headers.get("etag")).toBe('"1"');
    // drafts are not served
    expect(await edgeVariant(clientKey, "checkout-redesign", { user_id: "user-1" })).toBeUndefined();

    const started = await stack.api("POST", "/projects/shop/flags/checkout-redesign/start", undefined, {
      "if-match": '"1"',
    });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: "running", version: 2 });
    await expect
      .poll(() => edgeVariant(clientKey, "checkout-redesign", { user_id: "user-1" }), { timeout: 3000 })
      .toMatch(/^(control|treatment)$/);
  });

  it("answers a conflicting concurrent edit with 409, never a lost update", async () => {
    const current = (await stack.api("GET", "/projects/shop/flags/checkout-redesign")).body;
    const edit = (name: string) =>
      stack.api("PUT", "/projects/shop/flags/checkout-redesign", { ...experiment, name, version: current.version });
    const results = await Promise.all([edit("A"), edit("B"), edit("C")]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const conflict = results.find((r) => r.status === 409)!;
    expect(conflict.body.error).toMatchObject({ code: "conflict", details: { currentVersion: current.version + 1 } });
    const winner = results.find((r) => r.status === 200)!.body.name;
    expect((await stack.api("GET", "/projects/shop/flags/checkout-redesign")).body.name).toBe(winner);
  });

  it("requires the version read (428) and rejects a stale one (409)", async () => {
    expect((await stack.api("PUT", "/projects/shop/flags/checkout-redesign", experiment)).status).toBe(428);
    const stale = await stack.api("PUT", "/projects/shop/flags/checkout-redesign", experiment, { "if-match": '"1"' });
    expect(stale.status).toBe(409);
  });

  it("keeps every version with who, when and what changed, and restores one as a new version", async () => {
    const history = (await stack.api("GET", "/projects/shop/flags/checkout-redesign/versions")).body as Array<{
      version: number;
      action: string;
      actor: string;
      diff: unknown[];
    }>;
    expect(history.map((h) => h.action)).toEqual(["create", "start", "update"]);
    expect(history[2]!.diff).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "CHANGE", path: ["name"] })]),
    );
    expect(history[0]!.actor).toBe("bootstrap");

    const current = (await stack.api("GET", "/projects/shop/flags/checkout-redesign")).body;
    const restored = await stack.api("POST", "/projects/shop/flags/checkout-redesign/versions/1/restore", {
      version: current.version,
    });
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({
      name: "Checkout redesign",
      version: current.version + 1,
      status: "running",
      lastChange: { action: "restore v1" },
    });
    expect(
      (await stack.api("GET", `/projects/shop/flags/checkout-redesign/versions/${current.version + 1}`)).body.action,
    ).toBe("restore v1");
  });

  it("locks a running experiment's analysis settings (409 naming the field); a restart opens a period", async () => {
    const locked = { ...experiment, key: "locked", statisticalMethod: "sequential" };
    expect((await stack.api("POST", "/projects/shop/flags", locked)).status).toBe(201);
    const started = await stack.api("POST", "/projects/shop/flags/locked/start", { version: 1 });
    expect(started.body.analysisPeriods).toEqual([
      {
        startedAt: expect.any(String),
        settings: expect.objectContaining({ statisticalMethod: "sequential", confidenceLevel: 0.95 }),
      },
    ]);
    for (const [field, value] of [
      ["statisticalMethod", "ttest"],
      ["confidenceLevel", 0.9],
      ["minimumDetectableEffect", 0.1],
      ["multipleTestingCorrection", "holm"],
      // Secondary and guardrail metrics can be added while running (metrics.integration.test.ts); the primary cannot.
      ["primaryMetric", { key: "purchase", type: "event_totals", eventType: "purchase_completed" }],
    ] as const) {
      const edit = await stack.api("PUT", "/projects/shop/flags/locked", { ...locked, [field]: value, version: 2 });
      expect(edit.status).toBe(409);
      expect(edit.body.error).toMatchObject({ code: "conflict", details: { field } });
    }
    // Everything else stays editable while running, and a restore cannot sneak a change in.
    const renamed = await stack.api("PUT", "/projects/shop/flags/locked", { ...locked, name: "Renamed", version: 2 });
    expect(renamed.status).toBe(200);
    const stopped = await stack.api("POST", "/projects/shop/flags/locked/stop", { version: 3 });
    expect(stopped.body.analysisPeriods[0].stoppedAt).toEqual(expect.any(String));
    const edited = await stack.api("PUT", "/projects/shop/flags/locked", {
      ...locked,
      name: "Renamed",
      statisticalMethod: "ttest",
      version: 4,
    });
    expect(edited.status).toBe(200);
    const restarted = await stack.api("POST", "/projects/shop/flags/locked/start", { version: 5 });
    expect(restarted.body.analysisPeriods).toHaveLength(2);
    expect(restarted.body.analysisPeriods[1].settings.statisticalMethod).toBe("ttest");
    expect(restarted.body.analysisPeriods[0].settings.statisticalMethod).toBe("sequential");
    const restore = await stack.api("POST", "/projects/shop/flags/locked/versions/1/restore", { version: 6 });
    expect(restore.status).toBe(409);
    expect(restore.body.error.details).toMatchObject({ field: "statisticalMethod" });
  });

  it("rejects invalid flags with the path of the problem", async () => {
    const cases: Array<[object, string]> = [
      [{ ...experiment, key: "w", weights: { control: 60, treatment: 30 } }, "weights"],
      [{ ...experiment, key: "v", inclusions: { ghost: { userIds: ["u"] } } }, "inclusions.ghost"],
      [
        { ...experiment, key: "p", prerequisites: [{ flagKey: "missing", variants: ["on"] }] },
        "prerequisites.0.flagKey",
      ],
      [{ ...experiment, key: "g", bucketing: { unit: "group" } }, "bucketing.groupType"],
      [
        {
          ...experiment,
          key: "r",
          segments: [{ name: "s", conditions: [{ property: "email", op: "regex match", values: ["("] }] }],
        },
        "segments.0.conditions.0.values.0",
      ],
      [{ ...experiment, key: "d", variants: [{ key: "a" }, { key: "a" }] }, "variants"],
      [{ ...experiment, key: "x", deployments: ["nowhere"] }, "deployments.0"],
      [{ ...experiment, key: "bad key!" }, "key"],
      [{ ...experiment, key: "t", rollout: 150 }, "rollout"],
    ];
    for (const [body, path] of cases) {
      const response = await stack.api("POST", "/projects/shop/flags", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.details.map((d: { path: string[] }) => d.path.join("."))).toContain(path);
    }
    expect((await stack.api("POST", "/projects/shop/flags", "{not json")).status).toBe(400);
  });

  it("bounds a flag's size with 413, storing nothing, and keeps changes to long ID lists in the history", async () => {
    const ids = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => `${prefix}-${i}-${"x".repeat(20)}`);
    const release = (key: string, userIds: string[]) => ({
      key,
      name: key,
      type: "release",
      variants: [{ key: "on" }],
      deployments: ["web"],
      inclusions: { on: { userIds } },
    });

    const tooBig = await stack.api("POST", "/projects/shop/flags", release("too-big", ids("user", 5000)));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatchObject({ code: "payload_too_large" });
    expect((await stack.api("GET", "/projects/shop/flags/too-big")).status).toBe(404);
    const hugeBody = await stack.api("POST", "/projects/shop/flags", {
      ...release("huge", []),
      description: "x".repeat(2_000_000),
    });
    expect(hugeBody.status).toBe(413);

    // 3,000 IDs replaced by 3,000 others: the field-by-field diff would not fit in a history item.
    const created = await stack.api("POST", "/projects/shop/flags", release("vip", ids("user", 3000)));
    expect(created.status).toBe(201);
    const updated = await stack.api("PUT", "/projects/shop/flags/vip", {
      ...release("vip", ids("member", 3000)),
      name: "VIPs",
      version: 1,
    });
    expect(updated.status).toBe(200);
    const history = (await stack.api("GET", "/projects/shop/flags/vip/versions")).body as Array<{
      version: number;
      diff: Array<{ path: string[] }>;
    }>;
    expect(history.map((h) => h.version)).toEqual([1, 2]);
    expect(history[1]!.diff.map((d) => d.path)).toEqual(expect.arrayContaining([["name"], ["inclusions"]]));
    expect(
      (await stack.api("GET", "/projects/shop/flags/vip/versions/1")).body.flag.inclusions.on.userIds,
    ).toHaveLength(3000);
  });

  it("rejects prerequisite cycles", async () => {
    const release = (key: string, parent?: string) => ({
      key,
      name: key,
      type: "release",
      variants: [{ key: "on" }],
      ...(parent ? { prerequisites: [{ flagKey: parent, variants: ["on"] }] } : {}),
    });
    expect((await stack.api("POST", "/projects/shop/flags", release("a"))).status).toBe(201);
    expect((await stack.api("POST", "/projects/shop/flags", release("b", "a"))).status).toBe(201);
    const cyclic = await stack.api("PUT", "/projects/shop/flags/a", { ...release("a", "b"), version: 1 });
    expect(cyclic.status).toBe(400);
    expect(cyclic.body.error.message).toContain("cycle");
  });

  it("runs the lifecycle: start needs a primary metric, decide ships a variant, archive, unarchive", async () => {
    const noMetric = await stack.api("POST", "/projects/shop/flags", {
      ...experiment,
      key: "no-metric",
      primaryMetric: undefined,
    });
    expect(
      (await stack.api("POST", "/projects/shop/flags/no-metric/start", { version: noMetric.body.version })).status,
    ).toBe(400);

    const current = (await stack.api("GET", "/projects/shop/flags/checkout-redesign")).body;
    const decided = await stack.api("POST", "/projects/shop/flags/checkout-redesign/decide", {
      version: current.version,
      variant: "treatment",
    });
    expect(decided.body).toMatchObject({ status: "decided", decidedVariant: "treatment" });
    await expect
      .poll(() => edgeVariant(clientKey, "checkout-redesign", { user_id: "anyone-at-all" }), { timeout: 3000 })
      .toBe("treatment");

    const archived = await stack.api("POST", "/projects/shop/flags/checkout-redesign/archive", {
      version: decided.body.version,
    });
    expect(archived.body.status).toBe("archived");
    await expect
      .poll(() => edgeVariant(clientKey, "checkout-redesign", { user_id: "anyone-at-all" }), { timeout: 3000 })
      .toBeUndefined();
    const again = await stack.api("POST", "/projects/shop/flags/checkout-redesign/start", {
      version: archived.body.version,
    });
    expect(again.status).toBe(409);
    const unarchived = await stack.api("POST", "/projects/shop/flags/checkout-redesign/unarchive", {
      version: archived.body.version,
    });
    expect(unarchived.body.status).toBe("decided");
  });

  it("tells a token who it is (GET /me), never its secret", async () => {
    const viewer = await stack.api("POST", "/tokens", { name: "whoami", role: "viewer", project: "shop" });
    const me = await stack.api("GET", "/me", undefined, { authorization: `Bearer ${viewer.body.token}` });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: viewer.body.id,
      name: "whoami",
      role: "viewer",
      project: "shop",
      createdAt: viewer.body.createdAt,
    });
    expect((await stack.api("GET", "/me", undefined, { authorization: "Bearer cpt_nope" })).status).toBe(401);
  });

  it("serves the console at / with a strict content policy, and its assets under /console/ only", async () => {
    const page = await fetch(`${stack.controlPlane.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'self'; script-src 'self';/);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const script = /src="(\/console\/app\.js\?v=\w+)"/.exec(html)![1]!;
    const asset = await fetch(`${stack.controlPlane.url}${script}`);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    // An old or guessed version is not cached for a year; an unknown file is a JSON 404.
    expect((await fetch(`${stack.controlPlane.url}/console/app.js?v=old`)).headers.get("cache-control")).toBe(
      "no-cache",
    );
    for (const path of ["/console/..%2Fapp.ts", "/console/secret.json", "/console/"]) {
      const response = await fetch(`${stack.controlPlane.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("scopes tokens by role and project", async () => {
    const viewer = await stack.api("POST", "/tokens", { name: "analyst", role: "viewer", project: "shop" });
    expect(viewer.status).toBe(201);
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await stack.api("GET", "/projects/shop/flags", undefined, as(viewer.body.token))).status).toBe(200);
    const write = await stack.api(
      "POST",
      "/projects/shop/flags",
      { ...experiment, key: "nope" },
      as(viewer.body.token),
    );
    expect(write.status).toBe(403);
    // Refused before the body is read: an invalid body from a viewer is a 403 too, not a 400 about the body.
    const invalid = await stack.api("POST", "/projects/shop/flags", { key: 42 }, as(viewer.body.token));
    expect([invalid.status, invalid.body.error.code]).toEqual([403, "forbidden"]);
    // A token scoped to one project cannot create projects, whatever its role.
    const shopAdmin = await stack.api("POST", "/tokens", { name: "shop-admin", role: "admin", project: "shop" });
    expect((await stack.api("POST", "/projects", { key: "x", name: "X" }, as(shopAdmin.body.token))).status).toBe(403);
    expect((await stack.api("POST", "/projects", { key: "other", name: "Other" })).status).toBe(201);
    expect((await stack.api("GET", "/projects/other", undefined, as(viewer.body.token))).status).toBe(403);
    const deployments = (await stack.api("GET", "/projects/shop/deployments", undefined, as(viewer.body.token))).body;
    expect(deployments[0].serverKey).toBeUndefined(); // a secret viewers do not see
    expect(JSON.stringify((await stack.api("GET", "/tokens")).body)).not.toContain(viewer.body.token);
    expect((await stack.api("DELETE", `/tokens/${viewer.body.id}`)).status).toBe(204);
    expect((await stack.api("GET", "/projects/shop/flags", undefined, as(viewer.body.token))).status).toBe(401);
  });

  it("rotates keys: the old key stops working at the edge, the new one works", async () => {
    const release = await stack.api("POST", "/projects/shop/flags", {
      key: "banner",
      name: "Banner",
      type: "release",
      variants: [{ key: "on" }],
      deployments: ["web"],
    });
    await stack.api("POST", "/projects/shop/flags/banner/activate", { version: release.body.version });
    await expect.poll(() => edgeVariant(serverKey, "banner", { user_id: "u" }), { timeout: 3000 }).toBe("on");
    const rotated = await stack.api("POST", "/projects/shop/deployments/web/rotate-keys", { keys: ["server"] });
    expect(rotated.body.serverKey).not.toBe(serverKey);
    await expect.poll(() => edgeVariant(serverKey, "banner", { user_id: "u" }), { timeout: 3000 }).toBe("HTTP 401");
    expect(await edgeVariant(rotated.body.serverKey, "banner", { user_id: "u" })).toBe("on");
    serverKey = rotated.body.serverKey;
    const status = (await stack.api("GET", "/projects/shop/deployments/web")).body.publish;
    expect(status).toMatchObject({ status: "ok" });
  });

  it("changes groups on the version read: created without, 428 without one after, one winner in a race", async () => {
    const path = "/projects/shop/groups/pricing";
    const created = await stack.api("PUT", path, { kind: "mutex" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ key: "pricing", kind: "mutex", version: 1 });
    expect(created.headers.get("etag")).toBe('"1"');
    expect((await stack.api("PUT", path, { kind: "holdout", percentage: 10 })).status).toBe(428);

    const results = await Promise.all(
      [5, 10, 15].map((percentage) => stack.api("PUT", path, { kind: "holdout", percentage, version: 1 })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    const winner = results.find((r) => r.status === 200)!.body;
    const listed = (await stack.api("GET", "/projects/shop/groups")).body.find(
      (g: { key: string }) => g.key === "pricing",
    );
    expect(listed).toEqual({ ...winner, version: 2 });
    expect((await stack.api("PUT", path, { kind: "mutex" }, { "if-match": '"1"' })).status).toBe(409);
  });

  it("never loses a key rotation to a concurrent one", async () => {
    const original = (await stack.api("POST", "/projects/shop/deployments", { key: "race", name: "Race" })).body;
    const rotate = (keys: string[]) => stack.api("POST", "/projects/shop/deployments/race/rotate-keys", { keys });
    const results = await Promise.all([rotate(["client"]), rotate(["server"]), rotate(["client"]), rotate(["server"])]);
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    // The rotations that answered 200 must form one chain, each applied to the one before:
    // a winner whose new key was silently overwritten by another would break it.
    const keysOf = (d: { clientKey: string; serverKey: string }) => [d.clientKey, d.serverKey];
    const follows = (state: string[], next: string[]) => state.filter((key, i) => key !== next[i]).length === 1;
    let state = keysOf(original);
    const pending = results.filter((r) => r.status === 200).map((r) => keysOf(r.body));
    expect(pending.length).toBeGreaterThan(0);
    while (pending.length) {
      const next = pending.findIndex((keys) => follows(state, keys));
      expect(next, `no winner follows ${state.join(" ")}`).toBeGreaterThanOrEqual(0);
      state = pending.splice(next, 1)[0]!;
    }
    expect(keysOf((await stack.api("GET", "/projects/shop/deployments/race")).body)).toEqual(state);
  });

  it("tries a user: what every flag returns for them and why, through the edge's engine", async () => {
    const flag = {
      key: "try-me",
      name: "Try me",
      type: "release",
      variants: [{ key: "on", payload: { color: "green" } }],
      deployments: ["web"],
      segments: [{ name: "Beta users", conditions: [{ property: "plan", op: "is", values: ["beta"] }], rollout: 100 }],
      rollout: 0,
      inclusions: { on: { userIds: ["vip"] } },
    };
    const created = await stack.api("POST", "/projects/shop/flags", flag);
    await stack.api("POST", "/projects/shop/flags/try-me/activate", { version: created.body.version });
    const tryUser = async (user: object) =>
      (await stack.api("POST", "/projects/shop/deployments/web/evaluate", user)).body["try-me"];
    expect(await tryUser({ user_id: "u1", user_properties: { plan: "beta" } })).toMatchObject({
      variant: "on",
      payload: { color: "green" },
      reason: "TARGETING_MATCH",
      segment: "Beta users",
      exposure: false,
    });
    expect(await tryUser({ user_id: "vip" })).toMatchObject({ variant: "on", segment: "Included in on" });
    expect(await tryUser({ user_id: "u2" })).toMatchObject({ reason: "DEFAULT" });
    // The edge answers the same.
    await expect
      .poll(() => edgeVariant(clientKey, "try-me", { user_id: "u1", user_properties: { plan: "beta" } }), {
        timeout: 3000,
      })
      .toBe("on");
    expect(
      (await stack.api("POST", "/projects/shop/deployments/web/evaluate", { user_id: "u", plan: "beta" })).status,
    ).toBe(400); // unknown field
    expect((await stack.api("POST", "/projects/shop/deployments/nope/evaluate", { user_id: "u" })).status).toBe(404);
  });

  it("never lets a deployment's deletion and a flag served on it both succeed", async () => {
    for (let i = 0; i < 15; i++) {
      const key = `race-${i}`;
      expect((await stack.api("POST", "/projects/shop/deployments", { key, name: key })).status).toBe(201);
      const [removed, created] = await Promise.all([
        stack.api("DELETE", `/projects/shop/deployments/${key}`),
        stack.api("POST", "/projects/shop/flags", {
          key: `flag-${key}`,
          name: "Racing",
          type: "release",
          variants: [{ key: "on" }],
          deployments: [key],
        }),
      ]);
      const flagExists = (await stack.api("GET", `/projects/shop/flags/flag-${key}`)).status === 200;
      const deploymentExists = (await stack.api("GET", `/projects/shop/deployments/${key}`)).status === 200;
      expect(
        [removed.status, created.status].some((s) => s >= 400),
        `both succeeded (${removed.status}, ${created.status})`,
      ).toBe(true);
      if (flagExists) expect(deploymentExists).toBe(true);
      expect([200, 204, 409]).toContain(removed.status);
      expect([201, 400]).toContain(created.status);
    }
  });

  it("refuses to delete a deployment that still serves flags", async () => {
    const refused = await stack.api("DELETE", "/projects/shop/deployments/web");
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.flags).toContain("banner");
  });
});

describe("careless edits", () => {
  const release = {
    key: "careful",
    name: "Careful",
    type: "release",
    variants: [{ key: "on" }],
    rollout: 10,
    deployments: ["web"],
  };

  it("rejects unknown fields anywhere (a typo must not roll a flag out), and keys that cannot round-trip", async () => {
    expect((await stack.api("POST", "/projects/shop/flags", release)).status).toBe(201);
    const typo = await stack.api("PUT", "/projects/shop/flags/careful", {
      ...release,
      rollout: undefined,
      rolout: 100,
      version: 1,
    });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatchObject({
      code: "validation_failed",
      details: [{ path: ["rolout"], message: "unknown field" }],
    });
    const nested = await stack.api("PUT", "/projects/shop/flags/careful", {
      ...release,
      segments: [{ name: "s", conditions: [{ property: "plan", op: "is", values: ["x"] }], rolout: 5 }],
      version: 1,
    });
    expect(nested.body.error.details).toEqual([{ path: ["segments", "0", "rolout"], message: "unknown field" }]);
    // Sent as raw JSON: an object literal with "__proto__" would set the prototype instead.
    const proto = await stack.api(
      "POST",
      "/projects/shop/flags",
      `{"key":"proto","name":"p","type":"release","variants":[{"key":"on"}],` +
        `"inclusions":{"__proto__":{"userIds":["u"]}}}`,
    );
    expect(proto.status).toBe(400);
    expect(proto.body.error.details[0].path).toEqual(["inclusions", "__proto__"]);
    const payload = await stack.api(
      "POST",
      "/projects/shop/flags",
      `{"key":"proto","name":"p","type":"release","variants":[{"key":"on","payload":{"a":{"__proto__":1}}}]}`,
    );
    expect(payload.status).toBe(400);
    expect((await stack.api("GET", "/projects/shop/flags/proto")).status).toBe(404);
    expect((await stack.api("GET", "/projects/shop/flags/careful")).body).toMatchObject({ rollout: 10, version: 1 });
    expect((await stack.api("POST", "/projects", { key: "x2", name: "X", owner: "me" })).status).toBe(400);
  });

  it("takes back a flag as GET gave it (server-managed fields ignored), edited", async () => {
    const read = (await stack.api("GET", "/projects/shop/flags/careful")).body;
    const back = await stack.api("PUT", "/projects/shop/flags/careful", {
      ...read,
      name: "Round trip",
      status: "archived",
      analysisPeriods: [{ startedAt: "x", settings: {} }],
    });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ name: "Round trip", status: read.status, version: read.version + 1 });
    expect(back.body.analysisPeriods).toBeUndefined();
    const restore = await stack.api("PUT", "/projects/shop/flags/careful", {
      ...back.body,
      name: "Careful",
      version: back.body.version,
    });
    expect(restore.status).toBe(200);
  });

  it("patches only the fields named (JSON Merge Patch), on the version read", async () => {
    const patch = (body: unknown, headers: Record<string, string> = {}) =>
      stack.api("PATCH", "/projects/shop/flags/careful", body, {
        "content-type": "application/merge-patch+json",
        ...headers,
      });
    const v = (await stack.api("GET", "/projects/shop/flags/careful")).body.version as number;
    const patched = await patch({ rollout: 20 }, { "if-match": `"${v}"` });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ rollout: 20, name: "Careful", deployments: ["web"], version: v + 1 });
    expect((await patch({ rollout: 30 })).status).toBe(428);
    expect((await patch({ rollout: 30 }, { "if-match": `"${v}"` })).status).toBe(409);
    expect((await patch({ rolout: 30, version: v + 1 })).body.error.details).toEqual([
      { path: ["rolout"], message: "unknown field" },
    ]);
    expect((await patch({ rollout: 300, version: v + 1 })).status).toBe(400);
    const weighted = await patch({ weights: { on: 100 }, version: v + 1 });
    expect(weighted.body.weights).toEqual({ on: 100 });
    const removed = await patch({ weights: null, version: v + 2 });
    expect(removed.status).toBe(200);
    expect(removed.body.weights).toBeUndefined();
    expect((await stack.api("GET", "/projects/shop/flags/careful")).body.weights).toBeUndefined();
    expect((await patch({ wieghts: null, version: v + 3 })).status).toBe(400);
  });

  it("records only the changes that happened in the audit log", async () => {
    const current = (await stack.api("GET", "/projects/shop/flags/careful")).body;
    await stack.api("PUT", "/projects/shop/flags/careful", {
      ...release,
      rollout: current.rollout,
      name: "Careful edit",
      version: current.version,
    });
    const history = (await stack.api("GET", "/projects/shop/flags/careful/versions")).body as Array<{
      diff: Array<{ type: string; path: string[] }>;
    }>;
    expect(history.at(-1)!.diff).toEqual([expect.objectContaining({ type: "CHANGE", path: ["name"] })]);
    // Before: every plain update also "created" decidedVariant and statusBeforeArchive.
    expect(
      history
        .flatMap((h) => h.diff)
        .filter((d) => d.type === "CREATE")
        .map((d) => d.path),
    ).toEqual([["weights"]]);
  });

  it("filters by status, type and text; refuses edits to archived flags; deactivates experiments", async () => {
    const current = (await stack.api("GET", "/projects/shop/flags/careful")).body;
    const archived = await stack.api("POST", "/projects/shop/flags/careful/archive", { version: current.version });
    expect(archived.body.status).toBe("archived");
    const list = async (query: string) =>
      (await stack.api("GET", `/projects/shop/flags?${query}`)).body as Array<{
        key: string;
        status: string;
        type: string;
      }>;
    expect((await list("status=archived")).map((f) => f.key)).toEqual(["careful"]);
    expect((await list("type=release")).every((f) => f.type === "release")).toBe(true);
    expect((await list("q=CAREFUL")).map((f) => f.key)).toEqual(["careful"]);
    expect((await stack.api("GET", "/projects/shop/flags?status=nope")).status).toBe(400);
    const edit = await stack.api("PUT", "/projects/shop/flags/careful", { ...release, version: archived.body.version });
    expect(edit.status).toBe(409);
    expect(edit.body.error.message).toContain("unarchive");

    const exp = { ...experiment, key: "to-deactivate" };
    expect((await stack.api("POST", "/projects/shop/flags", exp)).status).toBe(201);
    await stack.api("POST", "/projects/shop/flags/to-deactivate/start", { version: 1 });
    const deactivated = await stack.api("POST", "/projects/shop/flags/to-deactivate/deactivate", { version: 2 });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.status).toBe("stopped");
    expect(deactivated.body.analysisPeriods[0].stoppedAt).toEqual(expect.any(String));
  });
});
