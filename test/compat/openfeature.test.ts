/**
 * OpenFeature clients over OFREP, unchanged, pointed at our edge in workerd: the
 * server SDK with `@openfeature/ofrep-provider` (single-flag evaluation) and the web
 * SDK with `@openfeature/ofrep-web-provider` (bulk evaluation, ETag revalidation).
 */
import { OFREPProvider } from "@openfeature/ofrep-provider";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";
import { OpenFeature } from "@openfeature/server-sdk";
import { OpenFeature as WebOpenFeature } from "@openfeature/web-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, type EdgeHarness } from "../support/edge-harness.js";
import { TEST_FLAGS } from "../support/flags.js";

const KEY = "ofrep-key-00001";
let edge: EdgeHarness;
const requests: Array<{ url: string; status: number; ifNoneMatch: string | null; etag: string | null }> = [];

/** fetch that records what the providers send and get, to assert on ETag handling. */
const recordingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
  const request = new Request(input, init);
  const response = await fetch(request);
  requests.push({
    url: request.url,
    status: response.status,
    ifNoneMatch: request.headers.get("if-none-match"),
    etag: response.headers.get("etag"),
  });
  return response;
};

beforeAll(async () => {
  edge = await startEdge();
  await edge.publish(KEY, { keyType: "client", flags: TEST_FLAGS });
});
afterAll(async () => {
  await OpenFeature.close();
  await WebOpenFeature.close();
  await edge.dispose();
});

describe("@openfeature/server-sdk + @openfeature/ofrep-provider", () => {
  it("evaluates boolean, string and object flags with reasons", async () => {
    await OpenFeature.setProviderAndWait(
      new OFREPProvider({ baseUrl: edge.url, headers: [["Authorization", `Api-Key ${KEY}`]] }),
    );
    const client = OpenFeature.getClient();

    const beta = await client.getBooleanDetails("new-onboarding", false, { targetingKey: "user-2", beta: true });
    expect(beta).toMatchObject({ value: true, variant: "on", reason: "TARGETING_MATCH" });

    const control = await client.getStringDetails("checkout-redesign", "none", { targetingKey: "user-4" });
    expect(control).toMatchObject({ value: "control", variant: "control", reason: "SPLIT" });
    expect(control.flagMetadata).toMatchObject({ experimentKey: "exp-checkout", flagType: "experiment" });

    const treatment = await client.getObjectValue("checkout-redesign", {}, { targetingKey: "user-1" });
    expect(treatment).toEqual({ color: "green" });

    const unallocated = await client.getStringDetails("checkout-redesign", "none", { targetingKey: "user-2" });
    expect(unallocated).toMatchObject({ value: "off", reason: "DEFAULT" });

    const sso = await client.getBooleanValue("sso", false, {
      targetingKey: "u",
      groups: { company: ["acme"] },
      group_properties: { company: { acme: { plan: "enterprise" } } },
    });
    expect(sso).toBe(true);
  });

  it("reports unknown flags and bad context as OpenFeature errors", async () => {
    const client = OpenFeature.getClient();
    const missing = await client.getBooleanDetails("no-such-flag", false, { targetingKey: "u" });
    expect(missing).toMatchObject({ value: false, errorCode: "FLAG_NOT_FOUND", reason: "ERROR" });
    const invalid = await client.getBooleanDetails("new-onboarding", false, {
      targetingKey: "u",
      user_properties: { deep: JSON.parse(`${'{"a":'.repeat(40)}1${"}".repeat(40)}`) },
    });
    expect(invalid).toMatchObject({ value: false, errorCode: "INVALID_CONTEXT" });
  });
});

describe("@openfeature/web-sdk + @openfeature/ofrep-web-provider", () => {
  it("bulk-evaluates on start and revalidates with If-None-Match", async () => {
    const provider = new OFREPWebProvider({
      baseUrl: edge.url,
      headers: [["Authorization", `Api-Key ${KEY}`]],
      fetchImplementation: recordingFetch,
      pollInterval: 100,
    });
    await WebOpenFeature.setContext({ targetingKey: "user-1" });
    await WebOpenFeature.setProviderAndWait(provider);
    const client = WebOpenFeature.getClient();
    expect(client.getObjectValue("checkout-redesign", {})).toEqual({ color: "green" });
    expect(client.getBooleanValue("new-onboarding", true)).toEqual(expect.any(Boolean));

    await expect.poll(() => requests.filter((r) => r.status === 304).length, { timeout: 5000 }).toBeGreaterThan(0);
    const first = requests[0]!;
    expect(first).toMatchObject({ url: `${edge.url}/ofrep/v1/evaluate/flags`, status: 200, ifNoneMatch: null });
    expect(first.etag).toMatch(/^".+"$/);
    const revalidation = requests.find((r) => r.status === 304)!;
    expect(revalidation.ifNoneMatch).toBe(first.etag);
  });
});
