/**
 * Change requests on real dynalite through the HTTP API: required review blocks direct
 * edits with a clear 403, approval applies exactly the reviewed diff on its base version, a
 * request on an old version is refused as conflicting and changes nothing, the author cannot
 * approve their own, the history names both people, an admin's bypass keeps its reason, and
 * the project's webhooks are told. Segments a guarded flag names are guarded too: a direct edit
 * is refused, a request carries the edit and its approval republishes the flag's deployments.
 * So are groups (mutual exclusion, holdout) a guarded experiment is in.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import { reviewedActor } from "./change-requests.js";

const EVENTUALLY = { timeout: 30_000 };
const memoryKv = (): KvWriter => {
  const map = new Map<string, string>();
  return {
    put: async (entries) => {
      for (const { key, value } of entries) map.set(key, value);
    },
    delete: async (keys) => {
      for (const key of keys) map.delete(key);
    },
    get: async (key) => map.get(key) ?? null,
  };
};

const kv = memoryKv();
let dynamo: LocalDynamo;
let cp: ControlPlaneServer;
let admin: AdminApi;
let alice: AdminApi;
let bob: AdminApi;
const received: Array<{ type: string; data: Record<string, unknown> }> = [];
let hook: ReturnType<typeof createServer>;

const release = (key: string, deployments: string[] = []) => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on" }],
  rollout: 10,
  deployments,
});
const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => resolve(text));
  });

beforeAll(async () => {
  dynamo = await startDynalite();
  hook = createServer(async (req, res) => {
    received.push(JSON.parse(await readBody(req)));
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: "review-test-admin-token",
    reconcileEveryMs: 60_000,
    releasesEveryMs: 100,
  });
  admin = adminApi(cp.url, "review-test-admin-token");
  expect((await admin("POST", "/projects", { key: "rev", name: "Review" })).status).toBe(201);
  expect((await admin("POST", "/projects/rev/deployments", { key: "production", name: "Production" })).status).toBe(
    201,
  );
  expect((await admin("POST", "/projects/rev/deployments", { key: "staging", name: "Staging" })).status).toBe(201);
  const token = async (name: string) =>
    (await admin("POST", "/tokens", { name, role: "editor", project: "rev" })).body.token as string;
  alice = adminApi(cp.url, await token("alice"));
  bob = adminApi(cp.url, await token("bob"));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  expect((await admin("POST", "/projects/rev/webhooks", { url, events: [] })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await cp?.close();
  hook?.close();
  await dynamo?.close();
});

describe("change requests", () => {
  it("required review blocks a direct edit with a 403 naming change requests", async () => {
    expect((await alice("POST", "/projects/rev/flags", release("banner", ["staging"]))).status).toBe(201);
    // A careless admin's typo would guard nothing while looking guarded: refused, the policy unchanged.
    const typo = await admin("PUT", "/projects/rev/review-policy", { project: false, deployments: ["prodution"] });
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toMatch(/names no deployment of rev: prodution/);
    expect(typo.body.error.details.unknownDeployments).toEqual(["prodution"]);
    expect((await admin("GET", "/projects/rev/review-policy")).body).toMatchObject({ project: false, deployments: [] });
    const policy = await admin("PUT", "/projects/rev/review-policy", { project: false, deployments: ["production"] });
    expect(policy.status).toBe(200);

    // A staging-only flag is not guarded…
    expect((await alice("PATCH", "/projects/rev/flags/banner", { rollout: 20, version: 1 })).status).toBe(200);
    // …but moving it to production is, and so is any edit once it is served there.
    const blocked = await alice("PATCH", "/projects/rev/flags/banner", {
      deployments: ["staging", "production"],
      version: 2,
    });
    expect(blocked.status).toBe(403);
    expect(blocked.body.error.message).toMatch(/Review required \(deployment production requires review\)/);
    expect(blocked.body.error.message).toMatch(/change-requests/);
    expect(blocked.body.error.details.reviewRequired).toBe(true);
    expect((await alice("GET", "/projects/rev/flags/banner")).body.version).toBe(2);

    const created = await alice("POST", "/projects/rev/flags", release("prod-flag", ["production"]));
    expect(created.status).toBe(403);
    expect((await alice("GET", "/projects/rev/flags/prod-flag")).status).toBe(404);
  });

  it("approval applies exactly the reviewed diff, and the history names both people", async () => {
    const current = (await alice("GET", "/projects/rev/flags/banner")).body;
    const { version, status, createdAt, updatedAt, lastChange, ...editable } = current;
    const input = { ...editable, rollout: 60, deployments: ["staging", "production"] };
    const opened = await alice("POST", "/projects/rev/change-requests", {
      flag: "banner",
      kind: "update",
      input,
      title: "Ship the banner to production",
    });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ status: "open", baseVersion: 2, author: "alice", conflicting: false });
    const paths = opened.body.diff.map((d: { path: unknown[] }) => d.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["rollout", "deployments.1"]));
    expect(paths).toHaveLength(2);
    // Nothing applied yet.
    expect((await bob("GET", "/projects/rev/flags/banner")).body).toMatchObject({ version: 2, rollout: 20 });

    const own = await alice("POST", `/projects/rev/change-requests/${opened.body.id}/approve`, { comment: "me" });
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/alice wrote change request/);

    const approved = await bob("POST", `/projects/rev/change-requests/${opened.body.id}/approve`, {
      comment: "Ship it",
    });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      status: "applied",
      appliedVersion: 3,
      review: { by: "bob", comment: "Ship it" },
    });
    const after = (await bob("GET", "/projects/rev/flags/banner")).body;
    expect(after).toMatchObject({ version: 3, rollout: 60, deployments: ["staging", "production"] });
    // Exactly the diff: every other editable field is as it was.
    expect({ ...after, rollout: 20, deployments: ["staging"] }).toMatchObject(editable);

    const history = (await bob("GET", "/projects/rev/flags/banner/versions")).body as Array<{
      version: number;
      actor: string;
    }>;
    expect(history.find((h) => h.version === 3)?.actor).toBe(reviewedActor({ author: "alice" }, "bob"));
    expect(history.find((h) => h.version === 3)?.actor).toMatch(/alice.*bob/);
  });

  it("a request on an old version is refused as conflicting and changes nothing", async () => {
    const stale = await alice("POST", "/projects/rev/change-requests", {
      flag: "banner",
      kind: "action",
      action: "activate",
    });
    const newer = await alice("POST", "/projects/rev/change-requests", {
      flag: "banner",
      kind: "update",
      input: { ...release("banner", ["staging", "production"]), rollout: 70 },
    });
    expect((await bob("POST", `/projects/rev/change-requests/${newer.body.id}/approve`)).status).toBe(200);

    const listed = (await bob("GET", "/projects/rev/change-requests?status=conflicting")).body;
    expect(listed.map((r: { id: string }) => r.id)).toEqual([stale.body.id]);
    const refused = await bob("POST", `/projects/rev/change-requests/${stale.body.id}/approve`, { comment: "ok" });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/made on version 3 .*conflicting and was not applied/);
    expect(refused.body.error.details.currentVersion).toBe(4);
    const flag = (await bob("GET", "/projects/rev/flags/banner")).body;
    expect(flag).toMatchObject({ version: 4, status: "inactive", rollout: 70 });
    expect((await bob("GET", `/projects/rev/change-requests/${stale.body.id}`)).body.status).toBe("conflicting");
  });

  it("rejects with a comment, lists by filter, lets admins bypass with a recorded reason, and notifies", async () => {
    const opened = await bob("POST", "/projects/rev/change-requests", {
      flag: "banner",
      kind: "action",
      action: "activate",
    });
    const rejected = await alice("POST", `/projects/rev/change-requests/${opened.body.id}/reject`, {
      comment: "Not before Monday",
    });
    expect(rejected.body).toMatchObject({ status: "rejected", review: { by: "alice", comment: "Not before Monday" } });
    expect((await alice("POST", `/projects/rev/change-requests/${opened.body.id}/approve`)).status).toBe(409);
    const byBob = (await alice("GET", "/projects/rev/change-requests?author=bob")).body;
    expect(byBob.map((r: { id: string }) => r.id)).toEqual([opened.body.id]);

    // An editor cannot bypass; an admin can, and the reason is kept.
    const editorBypass = await alice(
      "POST",
      "/projects/rev/flags/banner/activate",
      { version: 4 },
      {
        "x-review-bypass": "incident",
      },
    );
    expect(editorBypass.status).toBe(403);
    const bypassed = await admin(
      "POST",
      "/projects/rev/flags/banner/activate",
      { version: 4 },
      {
        "x-review-bypass": "Incident 42: the banner must show now",
      },
    );
    expect(bypassed.status).toBe(200);
    const records = (await admin("GET", "/projects/rev/change-requests?status=bypassed")).body;
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      flag: "banner",
      appliedVersion: 5,
      author: records[0].bypass.by,
      bypass: { reason: "Incident 42: the banner must show now" },
    });
    expect((await admin("GET", "/projects/rev/flags/banner")).body.status).toBe("active");

    await expect
      .poll(() => received.map((e) => e.type).filter((t) => t.startsWith("change_request.")), EVENTUALLY)
      .toEqual(
        expect.arrayContaining([
          "change_request.opened",
          "change_request.applied",
          "change_request.rejected",
          "change_request.conflicting",
          "change_request.bypassed",
        ]),
      );
    const applied = received.find((e) => e.type === "change_request.applied");
    expect(applied?.data).toMatchObject({ author: "alice", reviewer: "bob" });
  });
});

/** A project with a production deployment, and editors alice (author) and bob (reviewer) of it. */
async function reviewedProject(key: string, name: string) {
  expect((await admin("POST", "/projects", { key, name })).status).toBe(201);
  const production = await admin("POST", `/projects/${key}/deployments`, { key: "production", name: "Production" });
  const token = async (name: string) =>
    (await admin("POST", "/tokens", { name, role: "editor", project: key })).body.token as string;
  return {
    serverKey: production.body.serverKey as string,
    author: adminApi(cp.url, await token("alice")),
    reviewer: adminApi(cp.url, await token("bob")),
  };
}

/** The project's one bypassed request: on `target`, the version the bypass made, the reason. */
async function expectBypassRecorded(project: string, target: Record<string, string>, version: number, reason: string) {
  const records = (await admin("GET", `/projects/${project}/change-requests?status=bypassed`)).body;
  expect(records).toEqual([
    expect.objectContaining({ ...target, appliedVersion: version, bypass: expect.objectContaining({ reason }) }),
  ]);
}

describe("segment change requests", () => {
  const vip = {
    key: "vip",
    name: "VIP",
    description: "",
    conditions: [{ property: "plan", op: "is", values: ["vip"] }],
  };
  const request = (input: unknown, extra: Record<string, unknown> = {}) =>
    author("POST", "/projects/segrev/change-requests", { segment: "vip", kind: "update", input, ...extra });
  let serverKey: string;
  let author: AdminApi;
  let reviewer: AdminApi;

  beforeAll(async () => {
    ({ serverKey, author, reviewer } = await reviewedProject("segrev", "Segment review"));
    expect((await author("POST", "/projects/segrev/segments", vip)).status).toBe(201);
    expect((await author("POST", "/projects/segrev/segments", { ...vip, key: "spare" })).status).toBe(201);
    const flag = {
      ...release("vip-banner", ["production"]),
      segments: [{ name: "VIP", segment: "vip", conditions: [], rollout: 100 }],
    };
    expect((await author("POST", "/projects/segrev/flags", flag)).status).toBe(201);
    expect((await author("POST", "/projects/segrev/flags/vip-banner/activate", { version: 1 })).status).toBe(200);
    const policy = await admin("PUT", "/projects/segrev/review-policy", {
      project: false,
      deployments: ["production"],
    });
    expect(policy.status).toBe(200);
  }, 60_000);

  it("refuses a direct edit of a segment a guarded flag names, as a guarded flag write", async () => {
    const writes = [
      await author("PUT", "/projects/segrev/segments/vip", { ...vip, name: "V", version: 1 }),
      await author("PATCH", "/projects/segrev/segments/vip", { name: "V", version: 1 }),
      await author("DELETE", "/projects/segrev/segments/vip", { version: 1 }),
      await author("POST", "/projects/segrev/segments/vip/versions/1/restore", { version: 1 }),
    ];
    for (const refused of writes) {
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toMatch(
        /Review required \(segment vip is used by flag vip-banner; deployment production requires review\)/,
      );
      expect(refused.body.error.details.reviewRequired).toBe(true);
    }
    expect((await author("GET", "/projects/segrev/segments/vip")).body.version).toBe(1);
    // A segment no guarded flag names, and a new one, are edited directly.
    expect((await author("PATCH", "/projects/segrev/segments/spare", { name: "Spare", version: 1 })).status).toBe(200);
    expect((await author("POST", "/projects/segrev/segments", { ...vip, key: "fresh" })).status).toBe(201);
  });

  it("applies an approved segment change, republishes, and answers a retried approval with its result", async () => {
    const input = { ...vip, conditions: [{ property: "plan", op: "is", values: ["vip", "gold-approved"] }] };
    const opened = await request(input, { title: "Gold plans are VIPs" });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ segment: "vip", status: "open", baseVersion: 1, conflicting: false });
    expect(opened.body.flag).toBeUndefined();
    expect(opened.body.diff).toEqual([
      { type: "CREATE", path: ["conditions", 0, "values", 1], value: "gold-approved" },
    ]);
    const listed = (await reviewer("GET", "/projects/segrev/change-requests?segment=vip")).body;
    expect(listed.map((r: { id: string }) => r.id)).toEqual([opened.body.id]);

    const approve = () =>
      reviewer("POST", `/projects/segrev/change-requests/${opened.body.id}/approve`, { comment: "ok" });
    const approved = await approve();
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: "applied", appliedVersion: 2, review: { by: "bob" } });
    const segment = (await reviewer("GET", "/projects/segrev/segments/vip")).body;
    expect(segment).toMatchObject({ version: 2, conditions: input.conditions });
    expect(segment.lastChange.actor).toBe(reviewedActor({ author: "alice" }, "bob"));
    // The flag's deployment is republished with the segment's new conditions.
    await expect
      .poll(async () => (await kv.get(kvNameForApiKey(serverKey))) ?? "", EVENTUALLY)
      .toContain("gold-approved");

    // Bob's answer was lost and he approves again: the same result, nothing applied twice.
    const retried = await approve();
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: "applied", appliedVersion: 2 });
    expect((await reviewer("GET", "/projects/segrev/segments/vip")).body.version).toBe(2);
    expect((await admin("POST", `/projects/segrev/change-requests/${opened.body.id}/approve`)).status).toBe(409);
  });

  it("refuses a segment request on a stale version as conflicting, and lets an admin bypass", async () => {
    const current = (await author("GET", "/projects/segrev/segments/vip")).body;
    const stale = await request({ ...vip, name: "VIP customers" });
    const newer = await request({ ...vip, description: "Paying the most" });
    expect([stale.body.baseVersion, newer.body.baseVersion]).toEqual([current.version, current.version]);
    expect((await reviewer("POST", `/projects/segrev/change-requests/${newer.body.id}/approve`)).status).toBe(200);

    const refused = await reviewer("POST", `/projects/segrev/change-requests/${stale.body.id}/approve`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/made on version 2 of segment vip.*conflicting and was not applied/);
    expect(refused.body.error.details.currentVersion).toBe(3);
    expect((await reviewer("GET", "/projects/segrev/segments/vip")).body).toMatchObject({ version: 3, name: "VIP" });

    const bypassed = await admin(
      "PATCH",
      "/projects/segrev/segments/vip",
      { name: "VIP (incident)", version: 3 },
      { "x-review-bypass": "Incident 7" },
    );
    expect(bypassed.status).toBe(200);
    await expectBypassRecorded("segrev", { segment: "vip" }, 4, "Incident 7");
  });
});

describe("group change requests", () => {
  // The attack: an editor raises the holdout of a guarded experiment (or splits a mutex
  // differently) with a direct PUT, changing what the experiment serves without review.
  const hold = { kind: "holdout", percentage: 5, description: "" };
  const request = (input: unknown, extra: Record<string, unknown> = {}) =>
    author("POST", "/projects/grprev/change-requests", { group: "hold", kind: "update", input, ...extra });
  let serverKey: string;
  let author: AdminApi;
  let reviewer: AdminApi;

  beforeAll(async () => {
    ({ serverKey, author, reviewer } = await reviewedProject("grprev", "Group review"));
    expect((await admin("POST", "/projects/grprev/deployments", { key: "staging", name: "Staging" })).status).toBe(201);
    const metric = { key: "purchase", name: "Purchase", type: "unique_conversions", eventType: "purchase" };
    expect((await admin("POST", "/projects/grprev/metrics", metric)).status).toBe(201);
    expect((await author("PUT", "/projects/grprev/groups/hold", hold)).status).toBe(200);
    expect((await author("PUT", "/projects/grprev/groups/spare", hold)).status).toBe(200);
    const experiment = (key: string, deployments: string[], groups: string[]) => ({
      key,
      name: key,
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      primaryMetric: { metric: "purchase" },
      groups,
      deployments,
    });
    expect(
      (await author("POST", "/projects/grprev/flags", experiment("checkout", ["production"], ["hold"]))).status,
    ).toBe(201);
    const started = await author("POST", "/projects/grprev/flags/checkout/start", { version: 1 });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect((await author("POST", "/projects/grprev/flags", experiment("trial", ["staging"], ["spare"]))).status).toBe(
      201,
    );
    const policy = await admin("PUT", "/projects/grprev/review-policy", {
      project: false,
      deployments: ["production"],
    });
    expect(policy.status).toBe(200);
  }, 60_000);

  it("refuses a direct edit of a group a guarded flag is in; others and new groups stay direct", async () => {
    const raised = await author("PUT", "/projects/grprev/groups/hold", { ...hold, percentage: 50, version: 1 });
    expect(raised.status).toBe(403);
    expect(raised.body.error.message).toMatch(
      /Review required \(group hold is used by flag checkout; deployment production requires review\)/,
    );
    expect(raised.body.error.details.reviewRequired).toBe(true);
    // Any other write of the group is refused before it is answered (a DELETE would be, were there one).
    expect((await author("DELETE", "/projects/grprev/groups/hold")).status).toBe(403);
    const groups = (await author("GET", "/projects/grprev/groups")).body as Array<{ key: string }>;
    expect(groups.find((g) => g.key === "hold")).toMatchObject({ version: 1, percentage: 5 });
    // A group no guarded flag is in, and a new one, are written directly.
    expect((await author("PUT", "/projects/grprev/groups/spare", { ...hold, percentage: 20, version: 1 })).status).toBe(
      200,
    );
    expect((await author("PUT", "/projects/grprev/groups/fresh", { kind: "mutex" })).status).toBe(200);
  });

  it("applies an approved group change, republishes, and answers a retried approval with its result", async () => {
    const before = (await kv.get(kvNameForApiKey(serverKey))) ?? "";
    const opened = await request({ key: "hold", ...hold, percentage: 30 }, { title: "Hold out more" });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.body).toMatchObject({ group: "hold", status: "open", baseVersion: 1, conflicting: false });
    expect(opened.body.flag).toBeUndefined();
    expect(opened.body.diff).toEqual([{ type: "CHANGE", path: ["percentage"], value: 30, oldValue: 5 }]);
    const listed = (await reviewer("GET", "/projects/grprev/change-requests?group=hold")).body;
    expect(listed.map((r: { id: string }) => r.id)).toEqual([opened.body.id]);
    expect((await reviewer("GET", "/projects/grprev/change-requests?group=spare")).body).toEqual([]);
    // Its author cannot approve it.
    expect((await author("POST", `/projects/grprev/change-requests/${opened.body.id}/approve`)).status).toBe(403);

    const approve = () =>
      reviewer("POST", `/projects/grprev/change-requests/${opened.body.id}/approve`, { comment: "ok" });
    const approved = await approve();
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ status: "applied", appliedVersion: 2, review: { by: "bob" } });
    const group = () =>
      reviewer("GET", "/projects/grprev/groups").then((r) => r.body.find((g: { key: string }) => g.key === "hold"));
    expect(await group()).toMatchObject({ version: 2, percentage: 30 });
    // The guarded deployment is republished with the new holdout.
    await expect.poll(async () => (await kv.get(kvNameForApiKey(serverKey))) ?? "", EVENTUALLY).not.toBe(before);

    const retried = await approve();
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: "applied", appliedVersion: 2 });
    expect((await group()).version).toBe(2);
    expect((await admin("POST", `/projects/grprev/change-requests/${opened.body.id}/approve`)).status).toBe(409);
  });

  it("refuses a group request on a stale version as conflicting, and lets an admin bypass", async () => {
    const stale = await request({ key: "hold", ...hold, percentage: 50 });
    const newer = await request({ key: "hold", ...hold, percentage: 30, description: "Q3 holdout" });
    expect([stale.body.baseVersion, newer.body.baseVersion]).toEqual([2, 2]);
    expect((await reviewer("POST", `/projects/grprev/change-requests/${newer.body.id}/approve`)).status).toBe(200);
    expect((await reviewer("GET", `/projects/grprev/change-requests/${stale.body.id}`)).body.conflicting).toBe(true);

    const refused = await reviewer("POST", `/projects/grprev/change-requests/${stale.body.id}/approve`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/made on version 2 of group hold.*conflicting and was not applied/);
    expect(refused.body.error.details.currentVersion).toBe(3);
    const groups = (await reviewer("GET", "/projects/grprev/groups")).body as Array<{ key: string }>;
    expect(groups.find((g) => g.key === "hold")).toMatchObject({ version: 3, percentage: 30 });
    // A request on a version the group has left opens against that version's history, conflicting.
    const old = await request({ key: "hold", ...hold, percentage: 10 }, { baseVersion: 1 });
    expect(old.status, JSON.stringify(old.body)).toBe(201);
    expect(old.body).toMatchObject({ baseVersion: 1, conflicting: true });
    expect(old.body.diff).toEqual([{ type: "CHANGE", path: ["percentage"], value: 10, oldValue: 5 }]);
    expect(
      (await author("POST", `/projects/grprev/change-requests/${old.body.id}/reject`, { comment: "old" })).status,
    ).toBe(200);
    // One on a version the group has not reached is no missing version (404) but a conflict, as a stale one.
    const ahead = await request({ key: "hold", ...hold, percentage: 10 }, { baseVersion: 77 });
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(409);
    expect(ahead.body.error.details.currentVersion).toBe(3);

    // An editor cannot bypass; an admin can, and the reason is recorded.
    const editorBypass = await author(
      "PUT",
      "/projects/grprev/groups/hold",
      { ...hold, version: 3 },
      {
        "x-review-bypass": "mine",
      },
    );
    expect(editorBypass.status).toBe(403);
    const bypassed = await admin(
      "PUT",
      "/projects/grprev/groups/hold",
      { ...hold, percentage: 0, version: 3 },
      { "x-review-bypass": "Incident 8" },
    );
    expect(bypassed.status).toBe(200);
    await expectBypassRecorded("grprev", { group: "hold" }, 4, "Incident 8");
  });

  it("keeps every version of a group: the audit names both people, and a past one is restored", async () => {
    const versions = await reviewer("GET", "/projects/grprev/groups/hold/versions");
    expect(versions.status, JSON.stringify(versions.body)).toBe(200);
    expect(versions.body.map((e: { version: number }) => e.version)).toEqual([1, 2, 3, 4]);
    expect(versions.body[0]).toMatchObject({ action: "create", actor: "alice", diff: [], group: { percentage: 5 } });
    expect(versions.body[1]).toMatchObject({
      action: "update",
      actor: reviewedActor({ author: "alice" }, "bob"),
      diff: [{ type: "CHANGE", path: ["percentage"], value: 30, oldValue: 5 }],
      group: { version: 2, percentage: 30 },
    });
    expect((await reviewer("GET", "/projects/grprev/groups/hold/versions/2")).body.group.percentage).toBe(30);
    expect((await reviewer("GET", "/projects/grprev/groups/hold/versions/99")).status).toBe(404);
    expect((await reviewer("GET", "/projects/grprev/groups/nothing/versions")).status).toBe(404);

    // Restoring is a write like any other: an editor's is refused on a guarded group, an admin's bypass passes.
    expect((await author("POST", "/projects/grprev/groups/hold/versions/2/restore", { version: 4 })).status).toBe(403);
    const restored = await admin(
      "POST",
      "/projects/grprev/groups/hold/versions/2/restore",
      { version: 4 },
      { "x-review-bypass": "Incident 8 over" },
    );
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ version: 5, percentage: 30 });
    expect(restored.headers.get("etag")).toBe('"5"');
    const entry = (await reviewer("GET", "/projects/grprev/groups/hold/versions/5")).body;
    expect(entry).toMatchObject({ action: "restore v2", diff: [{ path: ["percentage"], value: 30, oldValue: 0 }] });
    // A stale restore (the version read has moved on) changes nothing.
    const stale = await admin(
      "POST",
      "/projects/grprev/groups/hold/versions/1/restore",
      { version: 4 },
      { "x-review-bypass": "late" },
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error.details.currentVersion).toBe(5);
  });

  it("answers a retried group write that landed with what it made, never a 409 or a 428", async () => {
    // A PUT's answer lost after it landed: the client sends it again as it was.
    const create = () => author("PUT", "/projects/grprev/groups/retry", { kind: "mutex", description: "m" });
    const created = await create();
    expect(created.status).toBe(200);
    const again = await create();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ version: 1 });
    const edit = () => author("PUT", "/projects/grprev/groups/retry", { kind: "mutex", description: "n", version: 1 });
    expect((await edit()).body).toMatchObject({ version: 2, description: "n" });
    const edited = await edit();
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ version: 2, description: "n" });
    // Another writer's identical body is no retry of theirs: a conflict, and a create without a version still asks one.
    const other = await reviewer("PUT", "/projects/grprev/groups/retry", {
      kind: "mutex",
      description: "n",
      version: 1,
    });
    expect(other.status).toBe(409);
    expect((await author("PUT", "/projects/grprev/groups/retry", { kind: "mutex", description: "o" })).status).toBe(
      428,
    );
    expect((await reviewer("GET", "/projects/grprev/groups/retry/versions")).body).toHaveLength(2);
  });
});

describe("review of a project whose key begins with a collection's name", () => {
  // The gate once read the path after the first `/flags` or `/segments` in it: in project
  // `flagship` or `segments-team` that is inside the key, and every guarded write passed.
  it.each(["flagship", "segments-team"])("guards the flag and segment writes of project %s", async (project) => {
    expect((await admin("POST", "/projects", { key: project, name: project })).status).toBe(201);
    expect((await admin("POST", `/projects/${project}/deployments`, { key: "production", name: "P" })).status).toBe(
      201,
    );
    const editor = adminApi(
      cp.url,
      (await admin("POST", "/tokens", { name: `${project}-editor`, role: "editor", project })).body.token,
    );
    const segment = { key: "vip", name: "VIP", conditions: [{ property: "plan", op: "is", values: ["vip"] }] };
    expect((await editor("POST", `/projects/${project}/segments`, segment)).status).toBe(201);
    const flag = { ...release("banner", ["production"]), segments: [{ name: "VIP", segment: "vip", conditions: [] }] };
    expect((await editor("POST", `/projects/${project}/flags`, flag)).status).toBe(201);
    const policy = { project: false, deployments: ["production"] };
    expect((await admin("PUT", `/projects/${project}/review-policy`, policy)).status).toBe(200);

    const writes = [
      await editor("PATCH", `/projects/${project}/flags/banner`, { rollout: 90, version: 1 }),
      await editor("PUT", `/projects/${project}/flags/banner`, { ...flag, rollout: 90, version: 1 }),
      await editor("POST", `/projects/${project}/flags/banner/activate`, { version: 1 }),
      await editor("POST", `/projects/${project}/flags/banner/versions/1/restore`, { version: 1 }),
      await editor("DELETE", `/projects/${project}/flags/banner?confirm=banner`),
      await editor("POST", `/projects/${project}/flags`, release("other", ["production"])),
      await editor("PATCH", `/projects/${project}/segments/vip`, { name: "V", version: 1 }),
      await editor("PUT", `/projects/${project}/segments/vip`, { ...segment, name: "V", version: 1 }),
      await editor("POST", `/projects/${project}/segments/vip/versions/1/restore`, { version: 1 }),
      await editor("DELETE", `/projects/${project}/segments/vip`, { version: 1 }),
    ];
    expect(writes.map((w) => w.status)).toEqual(writes.map(() => 403));
    for (const refused of writes) expect(refused.body.error.details.reviewRequired).toBe(true);
    expect((await editor("GET", `/projects/${project}/flags/banner`)).body).toMatchObject({ version: 1, rollout: 10 });
    expect((await editor("GET", `/projects/${project}/segments/vip`)).body).toMatchObject({ version: 1, name: "VIP" });
  });
});

describe("review of scheduled changes and rollout plans", () => {
  it("refuses an editor's schedule or rollout plan of a guarded flag (they run later, unreviewed); admins bypass", async () => {
    expect((await admin("POST", "/projects", { key: "sched", name: "Schedules" })).status).toBe(201);
    expect((await admin("POST", "/projects/sched/deployments", { key: "production", name: "P" })).status).toBe(201);
    const editor = adminApi(
      cp.url,
      (await admin("POST", "/tokens", { name: "sched-editor", role: "editor", project: "sched" })).body.token,
    );
    expect((await editor("POST", "/projects/sched/flags", release("guarded", ["production"]))).status).toBe(201);
    expect((await editor("POST", "/projects/sched/flags", release("staged"))).status).toBe(201);
    const policy = { project: false, deployments: ["production"] };
    expect((await admin("PUT", "/projects/sched/review-policy", policy)).status).toBe(200);
    const runAt = new Date(Date.now() - 1000).toISOString(); // due at once: the ticker runs every 100 ms

    const schedules = [
      { action: "update", runAt, patch: { rollout: 100 }, version: 1 },
      { action: "activate", runAt, version: 1 },
    ];
    for (const schedule of schedules) {
      const refused = await editor("POST", "/projects/sched/flags/guarded/schedules", schedule);
      expect(refused.status, JSON.stringify(refused.body)).toBe(403);
      expect(refused.body.error.details.reviewRequired).toBe(true);
    }
    // A schedule moving an unguarded flag onto the guarded deployment is refused too.
    const moving = { action: "update", runAt, patch: { deployments: ["production"], rollout: 100 }, version: 1 };
    expect((await editor("POST", "/projects/sched/flags/staged/schedules", moving)).status).toBe(403);
    expect((await editor("GET", "/projects/sched/flags/guarded/schedules")).body).toEqual([]);
    // So is a rollout plan, whose steps raise the rollout later; pausing one stays direct (there is none here: 404).
    const plan = {
      steps: [
        { percent: 50, minutes: 0 },
        { percent: 100, minutes: 0 },
      ],
    };
    expect((await editor("PUT", "/projects/sched/flags/guarded/rollout-plan", plan)).status).toBe(403);
    expect((await editor("POST", "/projects/sched/flags/guarded/rollout-plan/resume")).status).toBe(403);
    expect((await editor("POST", "/projects/sched/flags/guarded/rollout-plan/pause")).status).toBe(404);

    // An admin's bypass is scheduled, runs, and is recorded with its reason.
    const bypass = await admin("POST", "/projects/sched/flags/guarded/schedules", schedules[0], {
      "X-Review-Bypass": "incident 7",
    });
    expect(bypass.status, JSON.stringify(bypass.body)).toBe(201);
    await expect
      .poll(async () => (await admin("GET", "/projects/sched/flags/guarded")).body.rollout, EVENTUALLY)
      .toBe(100);
    const recorded = (await admin("GET", "/projects/sched/change-requests?status=bypassed")).body;
    expect(recorded).toMatchObject([{ flag: "guarded", bypass: { reason: "incident 7" } }]);
    expect((await editor("GET", "/projects/sched/flags/staged")).body).toMatchObject({ version: 1, deployments: [] });
  });
});
