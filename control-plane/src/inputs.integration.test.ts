/**
 * Inputs that used to answer 500 or slip through (issue 20): deeply nested bodies, flags in a missing project,
 * merge-patch removals naming no field, an empty lifecycle body sent as JSON, and the docs page's frame protection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;
const flag = {
  key: "inputs",
  name: "Inputs",
  type: "release",
  variants: [{ key: "on", value: "v0" }],
  deployments: ["web"],
};

/** `{"a":{"a":…}}`, `levels` objects deep, as a string: a JSON.stringify of it would be deep itself. */
const nested = (levels: number, leaf = "1") => `${'{"a":'.repeat(levels)}${leaf}${"}".repeat(levels)}`;

beforeAll(async () => {
  stack = await startStack();
  await stack.api("POST", "/projects", { key: "inputs", name: "Inputs" });
  await stack.api("POST", "/projects/inputs/deployments", { key: "web", name: "Web" });
  expect((await stack.api("POST", "/projects/inputs/flags", flag)).status).toBe(201);
});
afterAll(() => stack?.dispose());

describe("control-plane inputs", () => {
  it("refuses deeply nested bodies with a 400, on every write and on 'try a user'", async () => {
    const deep = nested(2125);
    const cases: Array<[string, string, string]> = [
      ["POST", "/projects/inputs/flags", `{"key":"deep","name":"D","type":"release","variants":${`[${deep}]`}}`],
      ["PUT", "/projects/inputs/flags/inputs", `{"key":"inputs","name":"I","type":"release","extra":${deep}}`],
      ["PATCH", "/projects/inputs/flags/inputs", `{"version":1,"variants":[{"key":"on","payload":${deep}}]}`],
      ["PATCH", "/projects/inputs/flags/inputs", `{"version":1,"unknown":${deep}}`],
      ["POST", "/projects/inputs/deployments/web/evaluate", `{"user_id":"u","user_properties":{"p":${deep}}}`],
    ];
    for (const [method, path, body] of cases) {
      const response = await stack.api(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(400);
      expect(response.body.error.message).toMatch(/nests deeper than 64/);
    }
    // A body nested within the limit is judged on its content as before.
    const shallow = await stack.api("PATCH", "/projects/inputs/flags/inputs", {
      version: 1,
      variants: [{ key: "on", value: "v0", payload: JSON.parse(nested(40)) }],
    });
    expect(shallow.status).toBe(200);
    expect((await stack.api("GET", "/projects/inputs/flags/deep")).status).toBe(404);
  });

  it("answers 404 for flags of a missing project, and writes nothing", async () => {
    const created = await stack.api("POST", "/projects/nowhere/flags", { ...flag, deployments: [] });
    expect(created.status).toBe(404);
    expect(created.body.error.message).toBe("No project nowhere");
    expect((await stack.api("GET", "/projects/nowhere/flags")).status).toBe(404);
    expect(await stack.controlPlane.store.getFlag("nowhere", "inputs")).toBeUndefined();
  });

  it("refuses a merge patch removing a field that does not exist, naming it", async () => {
    const { version } = (await stack.api("GET", "/projects/inputs/flags/inputs")).body;
    for (const [patch, field] of [
      [{ constructor: null }, "constructor"],
      [{ toString: null }, "toString"],
      [{ bucketing: { foo: null } }, "bucketing.foo"],
      [{ exclusions: { nope: null } }, "exclusions.nope"],
    ] as const) {
      const response = await stack.api("PATCH", "/projects/inputs/flags/inputs", { ...patch, version });
      expect(response.status, JSON.stringify(patch)).toBe(400);
      expect(response.body.error.message).toBe(`Unknown field ${field}`);
    }
    expect((await stack.api("GET", "/projects/inputs/flags/inputs")).body.version).toBe(version); // no new version
    // Removing a field that exists still works, at the top and inside a record.
    const removed = await stack.api("PATCH", "/projects/inputs/flags/inputs", { weights: null, version });
    expect(removed.status).toBe(200);
  });

  it("reads a merge patch removing an experiment's default metric window as none, not as the stored one", async () => {
    const path = "/projects/inputs/flags/windowed";
    const experiment = { key: "windowed", name: "W", type: "experiment", variants: [{ key: "control" }, { key: "b" }] };
    const created = await stack.api("POST", "/projects/inputs/flags", {
      ...experiment,
      primaryMetric: { key: "buy", type: "unique_conversions", eventType: "purchase" },
    });
    expect(created.body.defaultMetricWindow).toEqual({ endHours: 168 }); // a new experiment's week
    // Left out, the stored window stays; removed (null), the experiment has none: running values.
    const renamed = await stack.api("PATCH", path, { name: "W2", version: 1 });
    expect(renamed.body.defaultMetricWindow).toEqual({ endHours: 168 });
    const removed = await stack.api("PATCH", path, { defaultMetricWindow: null, version: 2 });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body).toMatchObject({ version: 3, defaultMetricWindow: "none" });
    const set = await stack.api("PATCH", path, { defaultMetricWindow: { endHours: 72 }, version: 3 });
    expect(set.body.defaultMetricWindow).toEqual({ endHours: 72 });
    // Running, its removal is a change of the analysis like any other: refused, not a silent 200.
    expect((await stack.api("POST", `${path}/start`, { version: 4 })).status).toBe(200);
    const refused = await stack.api("PATCH", path, { defaultMetricWindow: null, version: 5 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.details.field).toBe("defaultMetricWindow");
  });

  it("reads a running experiment stored without a metric window as none: no 409 for a no-op", async () => {
    const path = "/projects/inputs/flags/legacy";
    const created = await stack.api("POST", "/projects/inputs/flags", {
      key: "legacy",
      name: "L",
      type: "experiment",
      variants: [{ key: "control" }, { key: "b" }],
      primaryMetric: { key: "buy", type: "unique_conversions", eventType: "purchase" },
    });
    expect(created.status).toBe(201);
    expect((await stack.api("POST", `${path}/start`, { version: 1 })).status).toBe(200);
    // Stored before the setting existed: the record has no window at all (its reports read running values).
    const { store } = stack.controlPlane;
    const { defaultMetricWindow, ...stored } = (await store.getFlag("inputs", "legacy"))!;
    await store.putFlag("inputs", { ...stored, version: 3 }, 2);
    const read = await stack.api("GET", path);
    expect(read.body.defaultMetricWindow).toBeUndefined();

    // Saying "none", or removing it, says what it has: 200, not "defaultMetricWindow cannot change".
    const none = await stack.api("PATCH", path, { defaultMetricWindow: "none", version: 3 });
    expect(none.status, JSON.stringify(none.body)).toBe(200);
    expect(none.body.defaultMetricWindow).toBe("none");
    const removed = await stack.api("PATCH", path, { defaultMetricWindow: null, version: 4 });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    // A read sent back (a client that predates the window) keeps it as it is; a real window is still a change.
    const { version, status, createdAt, updatedAt, lastChange, analysisPeriods, ...editable } = removed.body;
    const put = await stack.api("PUT", path, { ...editable, defaultMetricWindow: undefined, version });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.defaultMetricWindow).toBe("none");
    const week = await stack.api("PATCH", path, { defaultMetricWindow: { endHours: 168 }, version: put.body.version });
    expect(week.status).toBe(409);
    expect(week.body.error.details.field).toBe("defaultMetricWindow");
  });

  it("reads an empty lifecycle body sent as JSON as no body", async () => {
    const { version } = (await stack.api("GET", "/projects/inputs/flags/inputs")).body;
    const response = await fetch(`${stack.controlPlane.url}/projects/inputs/flags/inputs/activate`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${stack.adminToken}`,
        "content-type": "application/json",
        "if-match": `"${version}"`,
      },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe("active");
    // Malformed JSON is still refused.
    const malformed = await stack.api("POST", "/projects/inputs/flags/inputs/deactivate", "{", {
      "if-match": `"${version + 1}"`,
    });
    expect(malformed.status).toBe(400);
  });

  it("serves /docs with a content security policy that forbids framing it", async () => {
    for (const path of ["/docs", "/docs/init.js", "/docs/swagger-ui.css"]) {
      const response = await fetch(`${stack.controlPlane.url}${path}`);
      expect(response.status).toBe(200);
      const policy = response.headers.get("content-security-policy") ?? "";
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).not.toContain("unsafe-eval");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    }
    expect(await (await fetch(`${stack.controlPlane.url}/docs`)).text()).not.toMatch(/<script>/); // no inline script
  });
});
