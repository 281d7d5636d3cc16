import { get as httpGet } from "node:http";
import { Experiment as BrowserExperiment } from "@amplitude/experiment-js-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluationFlag } from "../../../shared/evaluation/index.js";
import { startEdge, type EdgeHarness } from "../../../test/support/edge-harness.js";
import { startOrigin, type Origin } from "../../../test/support/origin.js";
import { parseAssignmentHeader } from "./assignments.js";
import { INITIAL_VARIANTS_GLOBAL } from "./middleware.js";

const KEY = "cdn-client-key-01";
const OFF = { key: "off", metadata: { default: true } };
const everyone = (variant: string, selector = "device_id") => ({
  bucket: {
    selector: ["context", "user", selector],
    salt: "s",
    allocations: [
      { range: [0, 100] as [number, number], distributions: [{ variant, range: [0, 42949673] as [number, number] }] },
    ],
  },
  variant: "off",
});
const experiment = (
  key: string,
  variants: EvaluationFlag["variants"],
  segments: EvaluationFlag["segments"],
): EvaluationFlag => ({
  key,
  metadata: { flagType: "experiment", experimentKey: `x-${key}` },
  variants: { off: OFF, ...variants },
  segments,
});

const FLAGS: EvaluationFlag[] = [
  experiment("hero", { a: { key: "a", value: "a" }, b: { key: "b", value: "b" } }, [
    {
      bucket: {
        selector: ["context", "user", "device_id"],
        salt: "hero",
        allocations: [
          {
            range: [0, 100],
            distributions: [
              { variant: "a", range: [0, 21474836] },
              { variant: "b", range: [21474836, 42949673] },
            ],
          },
        ],
      },
      variant: "off",
    },
  ]),
  experiment("landing", { v2: { key: "v2", payload: { redirect: "/landing-v2", path: "/landing" } } }, [
    everyone("v2"),
  ]),
  experiment("pricing", { v2: { key: "v2", payload: { rewrite: "/pricing-v2", path: "/pricing" } } }, [everyone("v2")]),
  // Hostile payloads (the control plane refuses them; the edge must too, if one gets through).
  experiment("phish", { v: { key: "v", payload: { redirect: "//evil.example/phish", path: "/login" } } }, [
    everyone("v"),
  ]),
  experiment("phish2", { v: { key: "v", payload: { redirect: "/\\evil.example", path: "/login2" } } }, [everyone("v")]),
  experiment("phish3", { v: { key: "v", payload: { redirect: "/\t/evil.example", path: "/login3" } } }, [
    everyone("v"),
  ]),
  // Same origin after resolving, with a path of `//evil.example/phish`: a relative Location would leave the site.
  experiment("phish4", { v: { key: "v", payload: { redirect: "/.//evil.example/phish", path: "/login4" } } }, [
    everyone("v"),
  ]),
  experiment("hop", { v: { key: "v", payload: { rewrite: "//127.0.0.1:9/x", path: "/hop" } } }, [everyone("v")]),
  {
    key: "members",
    metadata: { flagType: "release" },
    variants: { off: OFF, on: { key: "on" } },
    segments: [
      { conditions: [[{ selector: ["context", "user", "user_id"], op: "is", values: ["member-1"] }]], variant: "on" },
      { variant: "off" },
    ],
  },
  {
    key: "german",
    metadata: { flagType: "release" },
    variants: { off: OFF, on: { key: "on" } },
    segments: [
      { conditions: [[{ selector: ["context", "user", "language"], op: "is", values: ["de-DE"] }]], variant: "on" },
      { variant: "off" },
    ],
  },
];

let origin: Origin;
let edge: EdgeHarness;
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${edge.url}${path}`, { headers, redirect: "manual" });
const lastSeen = () => origin.received.at(-1)!;
const deviceCookie = (response: Response) =>
  /exp_device_id=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")?.[1];

beforeAll(async () => {
  origin = await startOrigin();
  edge = await startEdge({
    vars: { CDN_ORIGIN: origin.url, CDN_DEPLOYMENT_KEY: KEY, CDN_USER_ID_COOKIE: "uid", CDN_INJECT_HTML: "true" },
  });
  await edge.publish(KEY, { keyType: "client", deployment: "site", flags: FLAGS });
});
afterAll(async () => {
  await edge.dispose();
  await origin.close();
});

describe("CDN proxy mode", () => {
  it("creates a device cookie and passes the assignments to the origin in a header", async () => {
    const response = await get("/products?sort=price", { "accept-language": "de-DE,de;q=0.9" });
    expect(response.status).toBe(200);
    expect(response.headers.get("set-cookie")).toMatch(
      /^exp_device_id=[\w-]+; Path=\/; Max-Age=63072000; Secure; SameSite=Lax$/,
    );
    const seen = lastSeen();
    expect(seen.path).toBe("/products?sort=price");
    const assignments = parseAssignmentHeader(seen.headers["x-experiment-variants"] as string);
    expect(assignments).toMatchObject({
      hero: expect.stringMatching(/^(a|b)$/),
      landing: "v2",
      pricing: "v2",
      german: "on",
    });
    expect(assignments["members"]).toBeUndefined(); // default variants are not listed
  });

  it("reuses the cookie: no new cookie, the same variants on every request", async () => {
    const first = await get("/");
    const device = deviceCookie(first)!;
    const header = lastSeen().headers["x-experiment-variants"];
    for (let i = 0; i < 5; i++) {
      const again = await get("/", { cookie: `exp_device_id=${device}` });
      expect(again.headers.get("set-cookie")).toBeNull();
      expect(lastSeen().headers["x-experiment-variants"]).toBe(header);
    }
    // Across many visitors both variants occur: the assignment depends on the device.
    const variants = new Set<string>();
    for (let i = 0; i < 30; i++) {
      await get("/");
      variants.add(parseAssignmentHeader(lastSeen().headers["x-experiment-variants"] as string)["hero"]!);
    }
    expect([...variants].sort()).toEqual(["a", "b"]);
  });

  it("reads the user id from the configured cookie", async () => {
    await get("/", { cookie: "uid=member-1" });
    expect(parseAssignmentHeader(lastSeen().headers["x-experiment-variants"] as string)["members"]).toBe("on");
  });

  it("ignores a user id past 1,024 characters: the visitor is anonymous, its exposures still sent", async () => {
    await edge.clearReceived();
    const response = await get("/", { cookie: `uid=${"x".repeat(5000)}` });
    expect(response.status).toBe(200);
    const device = deviceCookie(response)!;
    const mine = async () => (await edge.received()).find((m) => m.type === "exposures" && m.deviceId === device);
    await expect.poll(mine, { timeout: 3000 }).toBeDefined();
    expect(await mine()).not.toHaveProperty("userId");
  });

  it("redirects (302) for a redirect variant and rewrites, keeping the URL, for a rewrite variant", async () => {
    const before = origin.received.length;
    const redirect = await get("/landing?utm=x");
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("location")).toMatch(/\/landing-v2\?utm=x$/);
    expect(origin.received.length).toBe(before); // the origin never saw it
    const rewritten = await get("/pricing?plan=pro");
    expect(rewritten.status).toBe(200);
    expect(lastSeen().path).toBe("/pricing-v2?plan=pro");
    expect(await rewritten.json()).toEqual({ path: "/pricing-v2?plan=pro" });
    expect((await get("/landing-v2")).status).toBe(200); // on the target: no loop
  });

  it("injects the assignments into HTML <head> as the browser SDK's initial variants", async () => {
    const html = await (await get("/home.html")).text();
    const match = new RegExp(`<head><script>window\\.${INITIAL_VARIANTS_GLOBAL}=(.*?);</script><title>`).exec(html);
    expect(match).not.toBeNull();
    const initial = JSON.parse(match![1]!);
    expect(initial["landing"]).toEqual({
      key: "v2",
      value: "v2",
      payload: { redirect: "/landing-v2", path: "/landing" },
      expKey: "x-landing",
    });
    expect(html).toContain("<h1>Hello</h1>");
    // The official browser SDK takes them as they are, with no request of its own.
    const client = BrowserExperiment.initialize("cdn-initial-variants", {
      initialVariants: initial,
      serverUrl: "http://127.0.0.1:9",
      automaticExposureTracking: false,
    });
    expect(client.variant("landing")).toMatchObject({
      value: "v2",
      payload: { redirect: "/landing-v2", path: "/landing" },
    });
  });

  it("makes variant-dependent responses private to shared caches", async () => {
    const response = await get("/api/cart");
    expect(response.headers.get("cache-control")).toBe("private, max-age=600");
    expect(response.headers.get("vary")).toContain("Cookie");
  });

  it("sends exposures for the experiment variants it applied", async () => {
    await edge.clearReceived();
    const device = deviceCookie(await get("/"))!;
    const find = async () => (await edge.received()).find((m) => m.type === "exposures" && m.deviceId === device);
    await expect.poll(find, { timeout: 3000 }).toBeDefined();
    const mine = await find();
    expect(mine).toMatchObject({ source: "cdn", deployment: "site" });
    // Page-scoped experiments are exposed only on their page: "/" is not /landing or /pricing.
    expect(mine!.type === "exposures" && mine!.exposures.map((e) => e.flagKey).sort()).toEqual(["hero"]);
    await get("/pricing", { cookie: `exp_device_id=${device}` });
    const flags = async () =>
      (await edge.received()).flatMap((m) =>
        m.type === "exposures" && m.deviceId === device ? m.exposures.map((e) => e.flagKey) : [],
      );
    await expect.poll(flags, { timeout: 3000 }).toContain("pricing");
    expect(await flags()).not.toContain("landing");
  });

  it("never redirects or rewrites to another site, whatever the payload says", async () => {
    for (const path of ["/login", "/login2", "/login3", "/login4"]) {
      const response = await get(path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("location")).toBeNull();
      expect(lastSeen().path).toBe(path);
    }
    const hop = await get("/hop");
    expect(hop.status).toBe(200);
    expect(lastSeen().path).toBe("/hop"); // reached the origin, unrewritten
    const before = origin.received.length;
    // a path that looks like a host
    const sneaky = await fetch(`${edge.url}//127.0.0.1:9/steal`, { redirect: "manual" });
    expect(sneaky.status).toBe(200);
    expect(origin.received.length).toBe(before + 1);
    expect(lastSeen().path).toBe("//127.0.0.1:9/steal");
  });

  it("redirects to a path, never to the host the visitor's Host header names", async () => {
    const { port } = new URL(edge.url);
    const location = await new Promise<string | undefined>((resolve, reject) => {
      // fetch() may not set Host; node:http sends it as given.
      const request = httpGet({ host: "127.0.0.1", port, path: "/landing", headers: { host: "evil.example" } }, (r) => {
        r.resume();
        resolve(r.headers.location);
      });
      request.on("error", reject);
    });
    expect(location).toBe("/landing-v2");
  });

  it("drops an assignments header the visitor sent", async () => {
    await get("/products", { "x-experiment-variants": "hero=forged;admin=on" });
    expect(parseAssignmentHeader(lastSeen().headers["x-experiment-variants"] as string)["admin"]).toBeUndefined();
  });

  it("leaves the origin's own paths and CORS alone: API CORS only on API routes", async () => {
    const page = await get("/v1/users", { origin: "https://shop.example" });
    expect(page.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    expect(page.headers.get("access-control-allow-credentials")).toBe("true");
    const before = origin.received.length;
    const preflight = await fetch(`${edge.url}/ofrep/admin`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
    });
    expect(origin.received.length).toBe(before + 1); // the origin answered its own preflight
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://shop.example");
    const api = await fetch(`${edge.url}/v1/vardata`, {
      method: "OPTIONS",
      headers: { origin: "https://any.example", "access-control-request-method": "POST" },
    });
    expect(api.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("keeps the API routes working in proxy mode", async () => {
    expect(await (await get("/health")).json()).toEqual({ status: "ok" });
  });
});

describe("CDN proxy mode when evaluation cannot run", () => {
  it("passes requests to the origin unmodified (fail open)", async () => {
    const broken = await startEdge({
      vars: { CDN_ORIGIN: origin.url, CDN_DEPLOYMENT_KEY: "key-that-kv-does-not-have" },
    });
    try {
      // A visitor's own assignments header must not reach the origin either, or a page
      // personalised by it would be cached publicly.
      const response = await fetch(`${broken.url}/products`, {
        redirect: "manual",
        headers: { "x-experiment-variants": "hero=b" },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("set-cookie")).toBeNull();
      expect(lastSeen().headers["x-experiment-variants"]).toBeUndefined();
      expect(response.headers.get("cache-control")).toBe("public, max-age=600, s-maxage=600");
    } finally {
      await broken.dispose();
    }
  });
});
