/**
 * Every error answer reaches the client, also when it comes before the request body was
 * read: large POSTs with a bad key or token, at once and one after the other, get JSON
 * errors and no socket error, from the edge (real workerd) and from the Node servers (control plane, stats).
 * Before, a refused POST to a Node server ended in ECONNRESET 4 times in 10 (control plane,
 * 900 KB), so an SDK could not back off.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlaneServer } from "../../control-plane/src/server.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { startStatsService, type StatsServer } from "../../stats-lambda/src/server.js";
import { startEdge, type EdgeHarness } from "../support/edge-harness.js";

/**
 * Status and error code of each answer, or the socket error's code: `count` POSTs, all at
 * once, or one after the other on a kept-alive connection (where the resets showed).
 */
async function postMany(
  url: string,
  headers: Record<string, string>,
  body: string,
  { count = 50, sequential = false } = {},
): Promise<string[]> {
  let sent = 0;
  const post = async () => {
    // Each request from an address of its own: the edge answers an address past 20 failed key lookups
    // in 10 s with 429 (edge/src/middleware/failed-lookups.ts), which is not what this test is about.
    const client = `192.0.2.${sent++ % 250}`;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": client, ...headers },
        body,
      });
      const answer = (await response.json()) as { error?: { code?: string } };
      return `${response.status} ${answer.error?.code}`;
    } catch (error) {
      return `socket error ${(error as { cause?: { code?: string } }).cause?.code ?? String(error)}`;
    }
  };
  if (!sequential) return Promise.all(Array.from({ length: count }, post));
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await post());
  return answers;
}

function tally(answers: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
  return counts;
}

const padded = (bytes: number) =>
  JSON.stringify({ events: [{ user_id: "u", event_type: "x", event_properties: { pad: "x".repeat(bytes) } }] });

describe("error answers to unread POST bodies", () => {
  let edge: EdgeHarness;
  let dynamo: LocalDynamo;
  let controlPlane: ControlPlaneServer;
  let stats: StatsServer;
  beforeAll(async () => {
    edge = await startEdge();
    dynamo = await startDynalite();
    const kv = { put: async () => {}, delete: async () => {}, get: async () => null };
    controlPlane = await startControlPlane({ dynamoEndpoint: dynamo.endpoint, kv, reconcileEveryMs: 60_000 });
    stats = await startStatsService({ dynamoEndpoint: dynamo.endpoint, ingestSecret: "error-answers" });
  });
  afterAll(async () => {
    await controlPlane?.close();
    await stats?.close();
    await edge?.dispose();
    await dynamo?.close();
  });

  it("edge: large POSTs with a bad key or to no route get JSON 401s and 404s, never a reset", async () => {
    // One after the other on a kept-alive connection, workerd reset about 1 in 150 of these
    // when the 401 came before the body was read (3 of 50 in a CI run beside other suites).
    const url = `${edge.url}/track`;
    const headers = { authorization: "Api-Key wrong" };
    expect(tally(await postMany(url, headers, padded(900_000)))).toEqual({ "401 unauthorized": 50 });
    expect(tally(await postMany(url, headers, padded(900_000), { sequential: true, count: 150 }))).toEqual({
      "401 unauthorized": 150,
    });
    expect(tally(await postMany(`${edge.url}/nowhere`, {}, padded(900_000), { sequential: true }))).toEqual({
      "404 not_found": 50,
    });
  });

  it("control plane: 50 large POSTs with a bad token get 50 JSON 401s, at once and one after the other", async () => {
    const url = `${controlPlane.url}/projects`;
    const headers = { authorization: "Bearer wrong" };
    expect(tally(await postMany(url, headers, padded(900_000)))).toEqual({ "401 unauthorized": 50 });
    expect(tally(await postMany(url, headers, padded(900_000), { sequential: true }))).toEqual({
      "401 unauthorized": 50,
    });
  });

  it("stats: 50 large POSTs with a bad token get 50 JSON errors", async () => {
    const answers = await postMany(
      `${stats.url}/projects/demo/sample-plan`,
      { authorization: "Bearer wrong" },
      padded(900_000),
      { sequential: true },
    );
    expect(answers.filter((answer) => answer.startsWith("socket error"))).toEqual([]);
    expect(answers.every((answer) => /^(401|413) /.test(answer))).toBe(true);
  });
});
