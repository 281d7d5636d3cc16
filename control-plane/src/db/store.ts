/**
 * Data access for the control plane: every read and conditional write of the table
 * (see shared/node/control-plane-table.ts for the layout). Records keep their JSON in `data`, next to the few
 * attributes that conditions and counters need (`version`, `seq`, lease fields).
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import type { Flag } from "../../../shared/authoring/schema.js";
import type { Deployment, GroupHistoryEntry, HistoryEntry, Project, PublishState, StoredGroup } from "./records.js";
import type { TokenRecord } from "../../../shared/node/admin-tokens.js";
import { historyRecords } from "./history-records.js";
import { createMetricStore } from "./metric-store.js";
import { createSegmentStore } from "../segments/segment-store.js";
import { keys, prefixes, readRecord, readRecords } from "../../../shared/node/control-plane-table.js";
import { queryAll, writeIf, type Db } from "../../../shared/node/dynamo.js";

export type { Deployment, GroupHistoryEntry, HistoryEntry, Project, PublishState, StoredGroup } from "./records.js";

/** A conditional write lost to a concurrent one. */
export class ConflictError extends Error {
  constructor(
    message: string,
    readonly current?: number,
  ) {
    super(message);
    this.name = "ConflictError";
  }
}

export function createStore(db: Db) {
  const { client, table } = db;
  const TableName = table;

  /** The record under `key`, without the item's other attributes. */
  const get = async <T>(key: Record<string, string>): Promise<T | undefined> => (await readRecord<T>(db, key))?.record;
  const flagHistory = historyRecords<HistoryEntry>(db, {
    key: keys.history,
    prefix: prefixes.history,
    resourceOf: (entry) => entry.flag.key,
  });
  const groupHistory = historyRecords<GroupHistoryEntry>(db, {
    key: keys.groupHistory,
    prefix: prefixes.groupHistory,
    resourceOf: (entry) => entry.group.key,
  });

  async function getFlag(project: string, key: string): Promise<Flag | undefined> {
    return get<Flag>(keys.flag(project, key));
  }

  async function getGroup(project: string, key: string): Promise<StoredGroup | undefined> {
    return get<StoredGroup>(keys.group(project, key));
  }

  /**
   * The one conditional write of a versioned item: stored only if its version is still
   * `expected` (`undefined`: the item must not exist yet); a lost race is a ConflictError
   * with the version that won.
   */
  async function putVersioned(
    key: Record<string, string>,
    value: { version: number },
    expected: number | undefined,
    what: string,
    writeId?: string,
  ): Promise<void> {
    const written = await writeIf(
      db,
      new PutCommand({
        TableName,
        Item: { ...key, data: JSON.stringify(value), version: value.version, ...(writeId ? { writeId } : {}) },
        ...(expected === undefined
          ? { ConditionExpression: "attribute_not_exists(pk)" }
          : expected === 0 // an item from before versions were kept
            ? { ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(version)" }
            : { ConditionExpression: "version = :expected", ExpressionAttributeValues: { ":expected": expected } }),
      }),
    );
    if (!written) {
      const current = await readRecord<{ version?: number }>(db, key);
      // The SDK retried a put whose reply was lost after it landed: the condition now fails on our own write.
      if (writeId !== undefined && current?.item["writeId"] === writeId) return;
      throw new ConflictError(
        expected === undefined ? `${what} already exists` : `${what} changed since version ${expected}`,
        current && (current.record.version ?? 0),
      );
    }
  }

  return {
    ...createMetricStore(db), // the metric catalog (metric-store.ts)
    ...createSegmentStore(db), // reusable segments (../segments/segment-store.ts)

    // Projects
    async createProject(project: Project): Promise<void> {
      const writeId = randomUUID(); // as for flags: a retried put that finds its own id landed the first time
      const written = await writeIf(
        db,
        new PutCommand({
          TableName,
          Item: { ...keys.project(project.key), data: JSON.stringify(project), seq: 0, writeId },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      if (!written && (await readRecord(db, keys.project(project.key)))?.item["writeId"] !== writeId)
        throw new ConflictError(`Project ${project.key} exists`);
    },
    async getProject(key: string): Promise<Project | undefined> {
      return get<Project>(keys.project(key));
    },
    listProjects: () => readRecords<Project>(db, prefixes.projects()),
    /** Replaces the project's record (archiving) only if it is still exactly `previous`. */
    async replaceProject(previous: Project, next: Project): Promise<void> {
      const written = await writeIf(
        db,
        new UpdateCommand({
          TableName,
          Key: keys.project(previous.key),
          UpdateExpression: "SET #data = :next",
          ConditionExpression: "#data = :previous",
          ExpressionAttributeNames: { "#data": "data" },
          ExpressionAttributeValues: { ":next": JSON.stringify(next), ":previous": JSON.stringify(previous) },
        }),
      );
      if (!written) throw new ConflictError(`Project ${previous.key} changed meanwhile; read it again`);
    },
    /**
     * Removes a deleted project's items: its own, its flags, groups, deployments and publishing state (history
     * stays, as the audit of what was deleted). Unconditional: the project is archived and its flags are gone.
     */
    async deleteProjectItems(project: string, itemKeys: ReadonlyArray<Record<string, string>>): Promise<void> {
      for (const key of itemKeys) await client.send(new DeleteCommand({ TableName, Key: key }));
      await client.send(new DeleteCommand({ TableName, Key: keys.project(project) }));
    },
    /** Counts the project's changes, so a publisher can tell whether it compiled the latest. */
    async nextSeq(project: string): Promise<number> {
      const { Attributes } = await client.send(
        new UpdateCommand({
          TableName,
          Key: keys.project(project),
          UpdateExpression: "ADD seq :one",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":one": 1 },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Attributes!["seq"] as number;
    },
    async currentSeq(project: string): Promise<number> {
      const { Item } = await client.send(
        new GetCommand({ TableName, Key: keys.project(project), ConsistentRead: true, ProjectionExpression: "seq" }),
      );
      return (Item?.["seq"] as number | undefined) ?? 0;
    },

    // Deployments
    /**
     * Creates `deployment`, or replaces `replacing` with it only if the stored item is
     * still exactly `replacing` (compare and swap on its JSON): two concurrent key
     * rotations cannot both win and lose one's new key.
     */
    async putDeployment(project: string, deployment: Deployment, replacing?: Deployment): Promise<void> {
      const written = await writeIf(
        db,
        new PutCommand({
          TableName,
          Item: { ...keys.deployment(project, deployment.key), data: JSON.stringify(deployment) },
          ...(replacing === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "#data = :previous",
                ExpressionAttributeNames: { "#data": "data" },
                ExpressionAttributeValues: { ":previous": JSON.stringify(replacing) },
              }),
        }),
      );
      if (!written)
        throw new ConflictError(
          replacing === undefined
            ? `Deployment ${deployment.key} exists`
            : `Deployment ${deployment.key} changed meanwhile; read it again`,
        );
    },
    async getDeployment(project: string, key: string): Promise<Deployment | undefined> {
      return get<Deployment>(keys.deployment(project, key));
    },
    listDeployments: (project: string) => readRecords<Deployment>(db, prefixes.deployments(project)),
    /**
     * Deleting a deployment and saving a flag served on it must not both succeed (no
     * transactions here): a flag write, once committed, stamps each of its deployments
     * with a fresh `referencedBy` token (failing for a deployment already gone: the flag
     * write is then reverted); a delete reads the token *before* checking that no flag
     * serves the deployment, and deletes only if the token is still the one it read.
     */
    async deploymentReference(project: string, key: string): Promise<string | undefined> {
      const { Item } = await client.send(
        new GetCommand({ TableName, Key: keys.deployment(project, key), ConsistentRead: true }),
      );
      return Item?.["referencedBy"] as string | undefined;
    },
    async deleteDeployment(project: string, key: string, reference: string | undefined): Promise<void> {
      const written = await writeIf(
        db,
        new DeleteCommand({
          TableName,
          Key: keys.deployment(project, key),
          ...(reference === undefined
            ? { ConditionExpression: "attribute_not_exists(referencedBy)" }
            : {
                ConditionExpression: "referencedBy = :reference",
                ExpressionAttributeValues: { ":reference": reference },
              }),
        }),
      );
      if (!written)
        throw new ConflictError(`A flag served on deployment ${key} was saved meanwhile; check its flags and retry`);
    },
    /** Stamps the deployments a committed flag names; returns those that no longer exist. */
    async referenceDeployments(project: string, deploymentKeys: readonly string[]): Promise<string[]> {
      const token = randomUUID();
      const missing: string[] = [];
      for (const key of deploymentKeys) {
        const written = await writeIf(
          db,
          new UpdateCommand({
            TableName,
            Key: keys.deployment(project, key),
            UpdateExpression: "SET referencedBy = :token",
            ConditionExpression: "attribute_exists(pk)",
            ExpressionAttributeValues: { ":token": token },
          }),
        );
        if (!written) {
          missing.push(key);
        }
      }
      return missing;
    },

    // Flags
    getFlag,
    listFlags: (project: string) => readRecords<Flag>(db, prefixes.flags(project)),
    /**
     * Writes `flag` if the stored version is `expected` (`undefined`: the flag must not exist yet). `writeId`, unique
     * per write, is kept in the item: a retry of the same put that finds it there landed the first time.
     */
    putFlag: (project: string, flag: Flag, expected: number | undefined, writeId: string = randomUUID()) =>
      putVersioned(keys.flag(project, flag.key), flag, expected, `Flag ${flag.key}`, writeId),
    /** Undoes a flag write that must not stand (before anything followed it): back to `previous`, or gone. */
    async revertFlag(project: string, written: Flag, previous: Flag | undefined): Promise<void> {
      const condition = {
        ConditionExpression: "version = :written",
        ExpressionAttributeValues: { ":written": written.version },
      };
      if (previous)
        await client.send(
          new PutCommand({
            TableName,
            Item: { ...keys.flag(project, written.key), data: JSON.stringify(previous), version: previous.version },
            ...condition,
          }),
        );
      else await client.send(new DeleteCommand({ TableName, Key: keys.flag(project, written.key), ...condition }));
    },

    /** Deletes the flag if it is still at `version` (a concurrent edit wins: ConflictError). */
    async deleteFlag(project: string, key: string, version: number): Promise<void> {
      const written = await writeIf(
        db,
        new DeleteCommand({
          TableName,
          Key: keys.flag(project, key),
          ConditionExpression: "version = :version",
          ExpressionAttributeValues: { ":version": version },
        }),
      );
      if (!written) throw new ConflictError(`Flag ${key} changed since version ${version}`);
    },

    // History (derived; idempotent per version)
    putHistory: flagHistory.put,
    getHistory: flagHistory.get,
    listHistory: flagHistory.list,

    // Groups
    getGroup,
    /** Writes `group` if the stored version is `expected` (`undefined`: the group must not exist yet). */
    putGroup: (project: string, group: StoredGroup, expected: number | undefined, writeId: string = randomUUID()) =>
      putVersioned(keys.group(project, group.key), group, expected, `Group ${group.key}`, writeId),
    listGroups: (project: string) => readRecords<StoredGroup>(db, prefixes.groups(project)),
    putGroupHistory: groupHistory.put,
    getGroupHistory: groupHistory.get,
    listGroupHistory: groupHistory.list,

    // Publishing state
    async getPublishState(project: string, deployment: string): Promise<PublishState | undefined> {
      return get<PublishState>(keys.publish(project, deployment));
    },
    /** Takes the deployment's publishing lease if it is free or expired. */
    async acquireLease(project: string, deployment: string, owner: string, ms: number): Promise<boolean> {
      const now = Date.now();
      return writeIf(
        db,
        new UpdateCommand({
          TableName,
          Key: keys.publish(project, deployment),
          UpdateExpression: "SET leaseOwner = :owner, leaseUntil = :until",
          // Re-entrant: a holder retrying after a failed release takes it again at once.
          ConditionExpression: "attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner",
          ExpressionAttributeValues: { ":owner": owner, ":until": now + ms, ":now": now },
        }),
      );
    },
    /**
     * Reserves the next published version, before anything is written to KV: recorded
     * even when the publish fails later, so no version is ever used for two contents.
     * Only the lease holder reserves, so reading then writing is safe.
     */
    async reserveVersion(project: string, deployment: string, owner: string): Promise<number> {
      const { Item } = await client.send(
        new GetCommand({ TableName, Key: keys.publish(project, deployment), ConsistentRead: true }),
      );
      const next = Math.max(Number(Item?.["reservedVersion"] ?? 0), Number(Item?.["publishedVersion"] ?? 0)) + 1;
      await client.send(
        new UpdateCommand({
          TableName,
          Key: keys.publish(project, deployment),
          UpdateExpression: "SET reservedVersion = :next",
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeValues: { ":next": next, ":owner": owner },
        }),
      );
      return next;
    },
    /** Records the outcome and frees the lease (only while still holding it). */
    async releaseLease(project: string, deployment: string, owner: string, state: PublishState): Promise<void> {
      await client.send(
        new UpdateCommand({
          TableName,
          Key: keys.publish(project, deployment),
          UpdateExpression: "SET #data = :data, publishedVersion = :version REMOVE leaseOwner, leaseUntil",
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeNames: { "#data": "data" },
          ExpressionAttributeValues: {
            ":data": JSON.stringify(state),
            ":version": state.publishedVersion,
            ":owner": owner,
          },
        }),
      );
    },
    deletePublishState: (project: string, deployment: string) =>
      client.send(new DeleteCommand({ TableName, Key: keys.publish(project, deployment) })),

    // Tokens
    async putToken(hash: string, token: TokenRecord): Promise<void> {
      await client.send(
        new PutCommand({
          TableName,
          Item: { ...keys.token(hash), data: JSON.stringify(token) },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    },
    async getToken(hash: string): Promise<TokenRecord | undefined> {
      return get<TokenRecord>(keys.token(hash));
    },
    async listTokens(): Promise<Array<TokenRecord & { hash: string }>> {
      const items = await queryAll(db, {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": prefixes.tokens().pk },
      });
      return items.map((item) => ({
        ...(JSON.parse(item["data"] as string) as TokenRecord),
        hash: item["sk"] as string,
      }));
    },
    deleteToken: (hash: string) => client.send(new DeleteCommand({ TableName, Key: keys.token(hash) })),
  };
}

export type Store = ReturnType<typeof createStore>;
