/**
 * Flag writes through DynamoDB faults (issue 20), with a proxy in front of dynalite: a reply lost after the write
 * landed, a put that landed before the rest of the change failed, and a DynamoDB that accepts connections and never
 * answers. Each change that was saved must end with its history entry and on the edge, and nothing may hang.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;
let clientKey: string;
const flag = {
  key: "lost",
  name: "Lost reply",
  type: "release",
  variants: [{ key: "on", value: "v0" }],
  deployments: ["web"],
};
const path = "/projects/writes/flags/lost";

const served = async (): Promise<string | undefined> => {
  const user = Buffer.from(JSON.stringify({ user_id: "u" })).toString("base64url");
  const response = await fetch(`${stack.edge.url}/sdk/v2/vardata`, {
    headers: { authorization: `Api-Key ${clientKey}`, "x-amp-exp-user": user },
  });
  return ((await response.json()) as Record<string, { value?: string }>)["lost"]?.value;
};
const current = async () => (await stack.api("GET", path)).body as { version: number };
const historyVersions = async () =>
  ((await stack.api("GET", `${path}/versions`)).body as Array<{ version: number }>).map((entry) => entry.version);
const isFlagPut = (operation: string, body: string) => operation === "PutItem" && body.includes("FLAG#lost");

beforeAll(async () => {
  // A short request timeout keeps the hanging-DynamoDB case quick; everything else answers in milliseconds.
  stack = await startStack({ dynamoProxy: true, dynamoRequestTimeoutMs: 1500 });
  await stack.api("POST", "/projects", { key: "writes", name: "Writes" });
  clientKey = (await stack.api("POST", "/projects/writes/deployments", { key: "web", name: "Web" })).body.clientKey;
  expect((await stack.api("POST", "/projects/writes/flags", flag)).status).toBe(201);
  expect((await stack.api("POST", `${path}/activate`, { version: 1 })).status).toBe(200);
});
afterAll(() => stack?.dispose());

describe("flag writes through DynamoDB faults", () => {
  it("recognises its own landed write when the reply was lost: 200, history and publish", async () => {
    const proxy = stack.proxy!;
    for (const value of ["a1", "a2", "a3"]) {
      const { version } = await current();
      let dropped = 0;
      // The put lands, its reply is lost, the SDK sends it again and the version condition fails on our own write.
      proxy.dropReplyWhen = (operation, body) => isFlagPut(operation, body) && dropped++ === 0;
      const response = await stack.api("PUT", path, { ...flag, variants: [{ key: "on", value }], version });
      proxy.dropReplyWhen = undefined;
      expect(dropped).toBeGreaterThanOrEqual(2); // the reply was dropped and the SDK retried
      expect(response.status).toBe(200);
      expect(response.body.version).toBe(version + 1);
      expect(await historyVersions()).toContain(version + 1);
      await expect.poll(served, { timeout: 5000 }).toBe(value);
    }
  });

  it("recognises its own landed group write when the reply was lost", async () => {
    const proxy = stack.proxy!;
    let dropped = 0;
    proxy.dropReplyWhen = (operation, body) =>
      operation === "PutItem" && body.includes("GROUP#hold") && dropped++ === 0;
    const response = await stack.api("PUT", "/projects/writes/groups/hold", { kind: "holdout", percentage: 5 });
    proxy.dropReplyWhen = undefined;
    expect(dropped).toBeGreaterThanOrEqual(2);
    expect(response.status).toBe(200); // was 409 "Group hold already exists"
    expect(response.body.version).toBe(1);
  });

  it("recognises its own landed project creation when the reply was lost", async () => {
    const proxy = stack.proxy!;
    let dropped = 0;
    proxy.dropReplyWhen = (operation, body) => operation === "PutItem" && body.includes('"again"') && dropped++ === 0;
    const response = await stack.api("POST", "/projects", { key: "again", name: "Again" });
    proxy.dropReplyWhen = undefined;
    expect(dropped).toBeGreaterThanOrEqual(2);
    expect(response.status).toBe(201); // was 409 "Project again exists"
    expect((await stack.api("POST", "/projects", { key: "again", name: "Again" })).status).toBe(409); // a real duplicate
  });

  it("a retry after a 503 that followed the put finishes the change: history and publish", async () => {
    const proxy = stack.proxy!;
    const { version } = await current();
    // The flag put lands; every UpdateItem after it (deployment reference, change counter) fails: the API says 503.
    proxy.failWhen = (operation) => operation === "UpdateItem";
    const body = { ...flag, variants: [{ key: "on", value: "b1" }], version };
    const failed = await stack.api("PUT", path, body);
    proxy.failWhen = undefined;
    expect(failed.status).toBe(503);
    expect((await current()).version).toBe(version + 1); // saved, but neither recorded nor published
    expect(await historyVersions()).not.toContain(version + 1);

    const retried = await stack.api("PUT", path, body);
    expect(retried.status).toBe(200);
    expect(retried.body.version).toBe(version + 1);
    expect(await historyVersions()).toContain(version + 1);
    await expect.poll(served, { timeout: 5000 }).toBe("b1");
  });

  it("a lifecycle action retried after a 503 finishes too", async () => {
    const proxy = stack.proxy!;
    const { version } = await current();
    proxy.failWhen = (operation) => operation === "UpdateItem";
    const failed = await stack.api("POST", `${path}/deactivate`, { version });
    proxy.failWhen = undefined;
    expect(failed.status).toBe(503);
    const retried = await stack.api("POST", `${path}/deactivate`, { version });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ version: version + 1, status: "inactive" });
    expect(await historyVersions()).toContain(version + 1);
    await expect.poll(served, { timeout: 5000 }).toBeUndefined();
  });

  it("answers 503 with Retry-After when DynamoDB accepts connections and never answers", async () => {
    const proxy = stack.proxy!;
    const { version } = await current();
    proxy.hang = true;
    try {
      const started = Date.now();
      const [patched, read] = await Promise.all([
        stack.api("PATCH", path, { name: "Never", version }),
        stack.api("GET", path),
      ]);
      for (const response of [patched, read]) {
        expect(response.status).toBe(503);
        expect(response.headers.get("retry-after")).toBe("2");
      }
      // The first DynamoDB call gives up: three attempts of 1.5 s and the SDK's backoff, not forever.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      proxy.hang = false;
    }
  });
});
