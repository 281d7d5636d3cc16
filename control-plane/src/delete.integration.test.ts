/**
 * Deleting flags and projects (data lifecycle): archived first, confirmed by key, refused while something depends
 * on it, recorded in the history, and gone from the edge.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;
let clientKey: string;
const release = (key: string, extra: object = {}) => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on", value: key }],
  deployments: ["web"],
  ...extra,
});

const served = async (key: string, flag: string): Promise<number | string | undefined> => {
  const user = Buffer.from(JSON.stringify({ user_id: "u" })).toString("base64url");
  const response = await fetch(`${stack.edge.url}/sdk/v2/vardata`, {
    headers: { authorization: `Api-Key ${key}`, "x-amp-exp-user": user },
  });
  if (response.status !== 200) return response.status;
  return ((await response.json()) as Record<string, { value?: string }>)[flag]?.value;
};

const archive = async (project: string, flag: string) => {
  const { version } = (await stack.api("GET", `/projects/${project}/flags/${flag}`)).body;
  expect((await stack.api("POST", `/projects/${project}/flags/${flag}/archive`, { version })).status).toBe(200);
};

beforeAll(async () => {
  stack = await startStack();
  await stack.api("POST", "/projects", { key: "life", name: "Lifecycle" });
  clientKey = (await stack.api("POST", "/projects/life/deployments", { key: "web", name: "Web" })).body.clientKey;
  for (const body of [
    release("base"),
    release("child", { prerequisites: [{ flagKey: "base", variants: ["on"] }] }),
    release("gone"),
  ])
    expect((await stack.api("POST", "/projects/life/flags", body)).status).toBe(201);
  expect((await stack.api("POST", "/projects/life/flags/gone/activate", { version: 1 })).status).toBe(200);
});
afterAll(() => stack?.dispose());

describe("deleting a flag", () => {
  it("needs the flag archived, then confirmation by its key", async () => {
    await expect.poll(() => served(clientKey, "gone"), { timeout: 5000 }).toBe("gone");
    const active = await stack.api("DELETE", "/projects/life/flags/gone?confirm=gone");
    expect(active.status).toBe(409);
    expect(active.body.error.message).toMatch(/archive it before deleting/);
    await archive("life", "gone");
    for (const query of ["", "?confirm=other"]) {
      const unconfirmed = await stack.api("DELETE", `/projects/life/flags/gone${query}`);
      expect(unconfirmed.status).toBe(400);
      expect(unconfirmed.body.error.message).toMatch(/confirm=gone/);
    }
    const deleted = await stack.api("DELETE", "/projects/life/flags/gone?confirm=gone");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ key: "gone", status: "archived" });
    expect((await stack.api("GET", "/projects/life/flags/gone")).status).toBe(404);
    // The history stays readable and ends with the deletion.
    const history = (await stack.api("GET", "/projects/life/flags/gone/versions")).body as Array<{ action: string }>;
    expect(history.map((entry) => entry.action)).toEqual(["create", "activate", "archive", "delete"]);
    expect((await stack.api("DELETE", "/projects/life/flags/gone?confirm=gone")).status).toBe(404);
  });

  it("is refused while another flag has it as a prerequisite, naming it", async () => {
    await archive("life", "base");
    const refused = await stack.api("DELETE", "/projects/life/flags/base?confirm=base");
    expect(refused.status).toBe(409);
    expect(refused.body.error.details).toEqual({ dependents: ["child"] });
    expect((await stack.api("GET", "/projects/life/flags/base")).status).toBe(200);
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${stack.controlPlane.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.paths["/projects/{project}/flags/{flag}"]).toHaveProperty("delete");
    expect(doc.paths["/projects/{project}"]).toHaveProperty("delete");
    expect(doc.paths["/projects/{project}/archive"]).toHaveProperty("post");
  });
});

describe("deleting a project", () => {
  it("needs it archived and confirmed, deletes its deployments and flags, and unpublishes them", async () => {
    await stack.api("POST", "/projects", { key: "doomed", name: "Doomed" });
    const key = (await stack.api("POST", "/projects/doomed/deployments", { key: "app", name: "App" })).body.clientKey;
    await stack.api("POST", "/projects/doomed/flags", { ...release("f1"), deployments: ["app"] });
    await stack.api("POST", "/projects/doomed/flags/f1/activate", { version: 1 });
    expect((await stack.api("PUT", "/projects/doomed/groups/g1", { kind: "holdout", percentage: 5 })).status).toBe(200);
    await expect.poll(() => served(key, "f1"), { timeout: 5000 }).toBe("f1");

    expect((await stack.api("DELETE", "/projects/doomed?confirm=doomed")).status).toBe(409); // not archived
    expect((await stack.api("POST", "/projects/doomed/archive")).body.archivedAt).toBeTruthy();
    const late = await stack.api("POST", "/projects/doomed/flags", { ...release("f2"), deployments: ["app"] });
    expect(late.status).toBe(409); // an archived project takes no new flags
    expect((await stack.api("DELETE", "/projects/doomed")).status).toBe(400); // not confirmed

    const deleted = await stack.api("DELETE", "/projects/doomed?confirm=doomed");
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ project: "doomed", flags: ["f1"], groups: ["g1"], deployments: ["app"] });
    expect((await stack.api("GET", "/projects/doomed")).status).toBe(404);
    expect(await stack.controlPlane.store.getFlag("doomed", "f1")).toBeUndefined();
    expect(await stack.controlPlane.store.listDeployments("doomed")).toEqual([]);
    expect(await stack.controlPlane.store.listGroups("doomed")).toEqual([]);
    await expect.poll(() => served(key, "f1"), { timeout: 5000 }).toBe(401); // the key serves nothing
    const history = await stack.controlPlane.store.listHistory("doomed", "f1");
    expect(history.at(-1)).toMatchObject({ action: "delete project", version: 3 });
    // Other projects are untouched.
    expect((await stack.api("GET", "/projects/life/flags/child")).status).toBe(200);
  });
});
