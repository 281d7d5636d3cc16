/**
 * Reusable segments against the real stack: dynalite, the control plane publishing into the
 * edge's KV, the edge in workerd; and the cloud path (the replicator's stream follow-up).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../../test/support/stack.js";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { replicate } from "../replicator.js";

const beta = {
  key: "beta",
  name: "Beta testers",
  description: "Opted into the beta",
  conditions: [{ property: "beta", op: "is", values: ["true"] }],
};
const flagUsing = (key: string, deployments: string[]) => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on" }],
  rollout: 0, // everyone else: off; only the segment's rule serves "on"
  deployments,
  segments: [{ name: "Beta", segment: "beta", conditions: [], rollout: 100 }],
});

describe("segments", () => {
  let stack: Stack;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    stack = await startStack();
    await stack.api("POST", "/projects", { key: "shop", name: "Shop" });
    for (const d of ["web", "app"]) {
      await stack.api("POST", "/projects/shop/deployments", { key: d, name: d });
      keys[d] = (await stack.api("GET", `/projects/shop/deployments/${d}`)).body.clientKey;
    }
  });
  afterAll(() => stack.dispose());

  /** What the edge serves `flag` to a user with these properties, on deployment `d`. */
  async function served(d: string, flag: string, properties: Record<string, string>) {
    const user = Buffer.from(JSON.stringify({ user_id: "u1", user_properties: properties })).toString("base64url");
    const response = await fetch(`${stack.edge.url}/sdk/v2/vardata`, {
      headers: { authorization: `Api-Key ${keys[d]}`, "x-amp-exp-user": user },
    });
    return ((await response.json()) as Record<string, { key: string }>)[flag]?.key;
  }

  it("creates, versions, conflicts and restores like a flag, and answers a retried write with its result", async () => {
    const created = await stack.api("POST", "/projects/shop/segments", beta);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...beta, version: 1, lastChange: { action: "create" } });
    expect(created.headers.get("etag")).toBe('"1"');
    // The create's answer was lost and the client sends it again: the same segment, not a 409.
    expect((await stack.api("POST", "/projects/shop/segments", beta)).body.version).toBe(1);
    const other = await stack.api("POST", "/projects/shop/segments", { ...beta, name: "Other" });
    expect(other.status).toBe(409);

    const renamed = { ...beta, name: "Beta users", version: 1 };
    const updated = await stack.api("PUT", "/projects/shop/segments/beta", renamed);
    expect(updated.status).toBe(200);
    expect(updated.body.version).toBe(2);
    // The same PUT again (its answer lost): its result, not a 409 and no third version.
    expect((await stack.api("PUT", "/projects/shop/segments/beta", renamed)).body.version).toBe(2);
    const stale = await stack.api("PUT", "/projects/shop/segments/beta", { ...beta, name: "Stale", version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.details).toEqual({ currentVersion: 2 });
    expect((await stack.api("PUT", "/projects/shop/segments/beta", beta)).status).toBe(428);
    const patched = await stack.api(
      "PATCH",
      "/projects/shop/segments/beta",
      { description: "x" },
      { "if-match": '"2"' },
    );
    expect(patched.body).toMatchObject({ version: 3, description: "x", name: "Beta users" });

    const history = (await stack.api("GET", "/projects/shop/segments/beta/versions")).body;
    expect(history.map((e: { version: number; action: string }) => [e.version, e.action])).toEqual([
      [1, "create"],
      [2, "update"],
      [3, "update"],
    ]);
    expect(history[1].diff).toEqual([
      { type: "CHANGE", path: ["name"], value: "Beta users", oldValue: "Beta testers" },
    ]);
    const restored = await stack.api("POST", "/projects/shop/segments/beta/versions/1/restore", { version: 3 });
    expect(restored.body).toMatchObject({ ...beta, version: 4, lastChange: { action: "restore v1" } });
  });

  it("refuses bad segments and unknown references with a 400 naming them", async () => {
    const empty = await stack.api("POST", "/projects/shop/segments", { ...beta, key: "empty", conditions: [] });
    expect(empty.status).toBe(400);
    const regex = await stack.api("POST", "/projects/shop/segments", {
      ...beta,
      key: "bad-regex",
      conditions: [{ property: "email", op: "regex match", values: ["(a"] }],
    });
    expect(regex.status).toBe(400);
    expect(regex.body.error.details[0].path).toEqual(["conditions", "0", "values", "0"]);
    const unknown = await stack.api("POST", "/projects/shop/flags", {
      ...flagUsing("ghostly", ["web"]),
      segments: [{ name: "Ghost", segment: "ghost", conditions: [] }],
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain("unknown segment 'ghost'");
    expect(unknown.body.error.details).toContainEqual({
      path: ["segments", "0", "segment"],
      message: "unknown segment 'ghost'",
    });
    const bare = await stack.api("POST", "/projects/shop/flags", {
      ...flagUsing("bare", ["web"]),
      segments: [{ name: "Nothing", conditions: [] }],
    });
    expect(bare.status).toBe(400);
    expect(bare.body.error.details[0].path).toEqual(["segments", "0", "conditions"]);
    expect((await stack.api("GET", "/projects/shop/segments/nope")).status).toBe(404);
    expect((await stack.api("GET", "/projects/nope/segments")).status).toBe(404);
  });

  it("gets an edit of a segment to every flag using it at the edge, within the usual second", async () => {
    for (const [flag, deployments] of [
      ["banner", ["web"]],
      ["checkout", ["web", "app"]],
    ] as const) {
      const created = await stack.api("POST", "/projects/shop/flags", flagUsing(flag, [...deployments]));
      expect(created.status).toBe(201);
      await stack.api("POST", `/projects/shop/flags/${flag}/activate`, { version: created.body.version });
    }
    expect(await served("web", "banner", { beta: "true" })).toBe("on");
    expect(await served("app", "checkout", { beta: "true" })).toBe("on");
    expect(await served("web", "banner", { plan: "gold" })).toBe("off"); // not in the segment
    expect((await stack.api("GET", "/projects/shop/segments/beta")).body.usedBy).toEqual(["banner", "checkout"]);

    // The anchor, measured now on this machine: a direct edit of a flag served on the same two deployments.
    const anchorFlag = await stack.api("POST", "/projects/shop/flags", {
      key: "anchor",
      name: "anchor",
      type: "release",
      variants: [{ key: "on" }],
      deployments: ["web", "app"],
    });
    await stack.api("POST", "/projects/shop/flags/anchor/activate", { version: anchorFlag.body.version });
    while ((await served("app", "anchor", {})) !== "on") await new Promise((resolve) => setTimeout(resolve, 5));
    const anchorStarted = performance.now();
    await stack.api("POST", "/projects/shop/flags/anchor/deactivate", { version: anchorFlag.body.version + 1 });
    while ((await served("web", "anchor", {})) === "on" || (await served("app", "anchor", {})) === "on")
      await new Promise((resolve) => setTimeout(resolve, 5));
    const anchor = performance.now() - anchorStarted;

    const current = (await stack.api("GET", "/projects/shop/segments/beta")).body;
    const started = performance.now();
    const edited = await stack.api("PUT", "/projects/shop/segments/beta", {
      ...current,
      conditions: [{ property: "plan", op: "is", values: ["gold"] }],
    });
    expect(edited.status).toBe(200);
    const answered = performance.now() - started;
    const everywhere = async () =>
      (await served("web", "banner", { plan: "gold" })) === "on" &&
      (await served("web", "checkout", { plan: "gold" })) === "on" &&
      (await served("app", "checkout", { plan: "gold" })) === "on";
    while (!(await everywhere())) await new Promise((resolve) => setTimeout(resolve, 5));
    const elapsed = performance.now() - started;
    console.log(
      `Propagation, segment edit to the edge serving its 2 flags on 2 deployments: ${elapsed.toFixed(0)} ms ` +
        `(the PUT answered after ${answered.toFixed(0)} ms, having published); ` +
        `a flag's own edit on the same deployments: ${anchor.toFixed(0)} ms`,
    );
    // Under a second on a quiet machine (docs/control-plane.md); on a loaded one, as fast as a flag's own edit.
    expect(elapsed).toBeLessThan(Math.max(1000, 2 * anchor + 250));
    expect(await served("web", "banner", { beta: "true" })).toBe("off"); // the old conditions are gone

    // The flag keeps the reference; the published document carries the conditions inline.
    expect((await stack.api("GET", "/projects/shop/flags/banner")).body.segments[0]).toMatchObject({ segment: "beta" });
    const evaluated = await stack.api("POST", "/projects/shop/deployments/web/evaluate", {
      user_id: "u1",
      user_properties: { plan: "gold" },
    });
    expect(evaluated.body.banner).toMatchObject({ variant: "on", segment: "Beta" });
  });

  it("republishes every deployment from the stream when a segment changes (the cloud path)", async () => {
    const { store, publisher, kv } = stack.controlPlane;
    const version = async (d: string) => {
      const deployment = (await store.getDeployment("shop", d))!;
      return JSON.parse((await kv.get(kvNameForApiKey(deployment.clientKey)))!).version as number;
    };
    const before = [await version("web"), await version("app")];
    const segment = await store.getSegment("shop", "beta");
    const targets = await replicate(
      [{ pk: "PROJECT#shop", sk: "SEGMENT#beta", newData: JSON.stringify(segment) }],
      store,
      publisher,
    );
    expect(targets.sort()).toEqual([
      ["shop", "app"],
      ["shop", "web"],
    ]);
    expect(await version("web")).toBeGreaterThan(before[0]!);
    expect(await version("app")).toBeGreaterThan(before[1]!);
  });

  it("refuses to delete a segment in use, naming the flags, and deletes it once unused", async () => {
    const current = (await stack.api("GET", "/projects/shop/segments/beta")).body;
    const refused = await stack.api("DELETE", "/projects/shop/segments/beta", undefined, {
      "if-match": `"${current.version}"`,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({ usedBy: ["banner", "checkout"] });
    expect(refused.body.error.message).toContain("banner, checkout");
    for (const flag of ["banner", "checkout"]) {
      const read = (await stack.api("GET", `/projects/shop/flags/${flag}`)).body;
      const patched = await stack.api(
        "PATCH",
        `/projects/shop/flags/${flag}`,
        { segments: [{ name: "Beta", conditions: [{ property: "plan", op: "is", values: ["gold"] }] }] },
        { "if-match": `"${read.version}"` },
      );
      expect(patched.status).toBe(200);
    }
    expect((await stack.api("DELETE", "/projects/shop/segments/beta")).status).toBe(428);
    const stale = await stack.api("DELETE", "/projects/shop/segments/beta", undefined, { "if-match": '"1"' });
    expect(stale.status).toBe(409);
    const deleted = await stack.api("DELETE", "/projects/shop/segments/beta", { version: current.version });
    expect(deleted).toMatchObject({ status: 200, body: { deleted: "beta" } });
    expect((await stack.api("GET", "/projects/shop/segments")).body).toEqual([]);
    const history = await stack.controlPlane.store.listSegmentHistory("shop", "beta");
    expect(history.at(-1)).toMatchObject({ version: current.version + 1, action: "delete" });
  });

  it("lets viewers read and not write", async () => {
    const token = (await stack.api("POST", "/tokens", { name: "v", role: "viewer", project: "shop" })).body.token;
    const headers = { authorization: `Bearer ${token}` };
    expect((await stack.api("GET", "/projects/shop/segments", undefined, headers)).status).toBe(200);
    expect((await stack.api("POST", "/projects/shop/segments", { ...beta, key: "v" }, headers)).status).toBe(403);
  });
});
