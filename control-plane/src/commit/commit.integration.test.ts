/** The commit module on real dynalite: the steps of a change in order, a lost race, a stream batch's follow-up. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Flag } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { createDb, ensureTable } from "../../../shared/node/dynamo.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { createStore, type Store, type StoredGroup } from "../db/store.js";
import { createCommits, flagChange, followUp } from "./commit.js";

let dynamo: LocalDynamo;
let store: Store;
const deployment = (key: string) => ({
  key,
  name: key,
  clientKey: `client-${key}`,
  serverKey: `server-${key}`,
  retiredKeys: [],
  createdAt: "2026-12-01T00:00:00.000Z",
});
const group = (version: number): StoredGroup => ({ key: "g", type: "mutex", version }) as unknown as StoredGroup;

beforeAll(async () => {
  dynamo = await startDynalite();
  const db = createDb({ table: "commit-test", endpoint: dynamo.endpoint, region: "local" });
  await ensureTable(db);
  store = createStore(db);
  await store.createProject({ key: "p", name: "P", createdAt: "2026-12-01T00:00:00.000Z" });
  await store.putDeployment("p", deployment("web"));
  await store.putDeployment("p", deployment("ios"));
});
afterAll(async () => {
  await dynamo?.close();
});

describe("commits", () => {
  it("writes, counts, records and publishes, in that order; a lost race is a 409 and nothing follows", async () => {
    const steps: string[] = [];
    const commits = createCommits({ store, publish: async (_, keys) => void steps.push(`publish ${keys.sort()}`) });
    const seq = await store.currentSeq("p");
    await commits.commit({
      project: "p",
      write: () => store.putGroup("p", group(1), undefined).then(() => steps.push("write")),
      verify: async () => void steps.push(`verify at seq ${await store.currentSeq("p")}`),
      history: async () => void steps.push(`history at seq ${await store.currentSeq("p")}`),
      committed: async () => void steps.push("committed"),
      publish: "all",
    });
    expect(steps).toEqual([
      "write",
      `verify at seq ${seq}`,
      `history at seq ${seq + 1}`,
      "committed",
      "publish ios,web",
    ]);

    steps.length = 0;
    const lost = commits.commit({
      project: "p",
      write: () => store.putGroup("p", group(1), undefined),
      publish: "all",
    });
    await expect(lost).rejects.toMatchObject({ status: 409, details: { currentVersion: 1 } });
    await expect(lost).rejects.toBeInstanceOf(ApiError);
    expect(steps).toEqual([]);
    expect(await store.currentSeq("p")).toBe(seq + 1);
  });

  it("does not count a change that publishes nothing (the metric catalog)", async () => {
    const commits = createCommits({ store });
    const seq = await store.currentSeq("p");
    await commits.commit({ project: "p", write: () => store.putGroup("p", group(2), 1) });
    expect(await store.currentSeq("p")).toBe(seq);
  });

  it("follows a stream batch up: each flag's history entry, one publish per deployment touched", async () => {
    const flag = (version: number, deployments: string[]) =>
      ({
        key: "f",
        version,
        deployments,
        lastChange: { actor: "a", at: "2026-12-01T00:00:00.000Z", action: "update" },
      }) as unknown as Flag;
    const published: string[] = [];
    const targets = await followUp(store, async (project, d) => void published.push(`${project}/${d}`), [
      { project: "p", ...flagChange(store, "p", flag(2, ["web"]), flag(1, ["ios"])) },
      { project: "p", ...flagChange(store, "p", flag(3, ["web"]), flag(2, ["web"])) },
      { project: "p", publish: "all" },
    ]);
    expect(published.sort()).toEqual(["p/ios", "p/web"]);
    expect(targets).toHaveLength(2);
    expect((await store.getHistory("p", "f", 3))?.diff).toEqual([]);
    expect((await store.getHistory("p", "f", 2))?.diff).toEqual([
      { type: "CHANGE", path: ["deployments", 0], value: "web", oldValue: "ios" },
    ]);
  });
});
