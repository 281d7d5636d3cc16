/**
 * Tables are used only once ACTIVE: against a dynalite that, like DynamoDB, keeps a new table CREATING for a while,
 * the first query right after ensureTable used to fail with ResourceNotFoundException (one `npm start` in three on an
 * empty endpoint, from `listTokens`).
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
// @ts-expect-error dynalite ships no type declarations
import dynalite from "dynalite";
import { createDb, ensureTable, queryAll } from "./dynamo.js";

let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = dynalite({ createTableMs: 400 }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it("returns from ensureTable only once the table is ACTIVE, for the creator and for a concurrent start", async () => {
  const first = createDb({ table: "slow-create", endpoint, region: "local" });
  const second = createDb({ table: "slow-create", endpoint, region: "local" });
  // Two services starting at once: one creates, the other finds it CREATING.
  await Promise.all([ensureTable(first), ensureTable(second)]);
  for (const db of [first, second]) {
    await expect(
      queryAll(db, { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": "TOKENS" } }),
    ).resolves.toEqual([]);
  }
});
