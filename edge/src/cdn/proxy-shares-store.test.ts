/**
 * In proxy mode the experiment middleware runs inside the edge app: it must use the app's
 * deployment cache and exposure recorder (one of each per isolate), not copies of its own
 * that read KV again and buffer exposures twice. Counted on a KV stand-in, in Node, with a
 * real origin on a loopback port.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { TEST_FLAGS } from "../../../test/support/flags.js";
import { createEdgeApp } from "../app.js";

const KEY = "server-proxytestkey0123456789";
const document = JSON.stringify({
  schemaVersion: 1,
  deployment: "d",
  keyType: "server",
  version: 1,
  publishedAt: "now",
  trackExposures: false,
  flags: TEST_FLAGS,
});

const origin = createServer((_, response) => response.end("page"));
beforeAll(() => new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve)));
afterAll(() => new Promise<void>((resolve) => origin.close(() => resolve())));

describe("proxy mode", () => {
  it("shares the app's deployment cache: one KV read for API and proxied requests", async () => {
    const reads: string[] = [];
    const kv = {
      async get(name: string) {
        reads.push(name);
        return name === kvNameForApiKey(KEY) ? document : null;
      },
    };
    const { port } = origin.address() as AddressInfo;
    const app = createEdgeApp({ cdn: { origin: `http://127.0.0.1:${port}`, deploymentKey: KEY } });
    const env = { FLAGS: kv } as never;
    const ctx = { waitUntil: () => {}, passThroughOnException: () => {} } as never;

    const api = await app.fetch(
      new Request("http://edge/v1/vardata?user_id=u1", { headers: { authorization: `Api-Key ${KEY}` } }),
      env,
      ctx,
    );
    expect(api.status).toBe(200);
    const page = await app.fetch(new Request("http://edge/landing"), env, ctx);
    expect(await page.text()).toBe("page");
    expect(page.headers.get("vary")).toContain("Cookie"); // went through the middleware
    expect(reads).toEqual([kvNameForApiKey(KEY)]);
  });
});
