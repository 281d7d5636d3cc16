/**
 * `npm start`'s system on any DynamoDB-compatible endpoint (DYNAMODB_ENDPOINT): here a
 * counting proxy in front of a dynalite that has no tables yet. The services create
 * their tables there and every read and write goes through it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { startDynamoProxy, type DynamoProxy } from "../support/dynamo-proxy.js";

let dynamo: LocalDynamo;
let proxy: DynamoProxy;
let system: LocalSystem;

beforeAll(async () => {
  dynamo = await startDynalite();
  proxy = await startDynamoProxy(dynamo.endpoint);
  system = await startLocalSystem({
    ingestSecret: "endpoint-test",
    dynamoEndpoint: proxy.endpoint,
    flagCacheTtlMs: 50,
    bootstrapToken: "cpt_endpoint_test_token",
  });
});
afterAll(async () => {
  await system?.close();
  await proxy?.close();
  await dynamo?.close();
});

it("uses the given endpoint instead of starting dynalite, and creates the tables there", async () => {
  expect(system.dynamoEndpoint).toBe(proxy.endpoint);
  expect(proxy.counts.get("CreateTable")).toBe(2); // the control plane's table and the stats table
  const before = proxy.total();
  const response = await fetch(`${system.controlPlane.url}/projects`, {
    method: "POST",
    headers: { authorization: "Bearer cpt_endpoint_test_token", "content-type": "application/json" },
    body: JSON.stringify({ key: "via-proxy", name: "Via proxy" }),
  });
  expect(response.status).toBe(201);
  expect(proxy.total()).toBeGreaterThan(before);
});
