/**
 * The project's notification log in DynamoDB: each event once, in order. An event gets the
 * next number of the project's counter and is stored under it (`EVENTS#<p>`, `E#<seq>`);
 * webhooks deliver the log in that order, each from its own cursor. An event id is taken
 * once (a marker item): a flag change replayed after a lost reply, or a schedule finished
 * by two watchers, is logged once. A number lost to a duplicate is filled with a `skip`,
 * so a gap in the log only ever means a write still on its way (or a crash).
 */
import { PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { queryAll, writeIf, type Db } from "../../../shared/node/dynamo.js";

export const EVENT_TYPES = [
  "flag.changed",
  "schedule.executed",
  "schedule.failed",
  "webhook.test",
  // Progressive rollouts (rollouts/plans.ts).
  "rollout.step",
  "rollout.completed",
  "rollout.rolled_back",
  // The watcher's reading of running experiments (rollouts/experiment-watch.ts).
  "experiment.significant",
  "experiment.srm",
  "experiment.guardrail_harm",

  // Change requests (change-requests/change-requests.ts).
  "change_request.opened",
  "change_request.applied",
  "change_request.rejected",
  "change_request.conflicting",
  "change_request.bypassed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NotificationEvent {
  /** Stable across retries of what caused it: receivers deduplicate on it. */
  id: string;
  seq: number;
  type: EventType | "skip";
  project: string;
  at: string;
  data: Record<string, unknown>;
  /** Delivered to this webhook only ("send test"). */
  only?: string;
}

export type EventInput = Omit<NotificationEvent, "seq" | "project" | "at"> & { at?: string };

const pk = (project: string) => `EVENTS#${project}`;
const eventSk = (seq: number) => `E#${String(seq).padStart(12, "0")}`;

export function createEventLog(db: Db, now: () => number = Date.now) {
  const TableName = db.table;

  async function nextSeq(project: string): Promise<number> {
    const { Attributes } = await db.client.send(
      new UpdateCommand({
        TableName,
        Key: { pk: pk(project), sk: "SEQ" },
        UpdateExpression: "ADD seq :one",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(Attributes?.["seq"]);
  }

  const put = (event: NotificationEvent) =>
    db.client.send(
      new PutCommand({
        TableName,
        Item: { pk: pk(event.project), sk: eventSk(event.seq), data: JSON.stringify(event) },
      }),
    );

  return {
    /** Logs an event unless its id was logged before; returns it, or undefined for a duplicate. */
    async emit(project: string, input: EventInput): Promise<NotificationEvent | undefined> {
      const seq = await nextSeq(project);
      const at = input.at ?? new Date(now()).toISOString();
      const first = await writeIf(
        db,
        new PutCommand({
          TableName,
          Item: { pk: pk(project), sk: `ID#${input.id}`, seq },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      const event: NotificationEvent = first
        ? { ...input, seq, project, at }
        : { id: `skip-${seq}`, seq, type: "skip", project, at, data: {} };
      await put(event);
      return first ? event : undefined;
    },

    /** The last number given out (a new webhook starts after it). */
    async lastSeq(project: string): Promise<number> {
      const items = await queryAll(db, {
        KeyConditionExpression: "pk = :pk AND sk = :sk",
        ExpressionAttributeValues: { ":pk": pk(project), ":sk": "SEQ" },
      });
      return Number(items[0]?.["seq"] ?? 0);
    },

    /** The newest events first (the console's feed), skips left out. */
    async latest(project: string, limit = 50): Promise<NotificationEvent[]> {
      const { Items = [] } = await db.client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: { ":pk": pk(project), ":from": eventSk(0), ":to": "E#~" },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return Items.map((item) => JSON.parse(item["data"] as string) as NotificationEvent).filter(
        (event) => event.type !== "skip" && !event.only,
      );
    },

    /** Events after `seq`, in order (at most `limit`). */
    async after(project: string, seq: number, limit = 25): Promise<NotificationEvent[]> {
      const { Items = [] } = await db.client.send(
        new QueryCommand({
          TableName,
          ConsistentRead: true,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: { ":pk": pk(project), ":from": eventSk(seq + 1), ":to": "E#~" },
          Limit: limit,
        }),
      );
      return Items.map((item) => JSON.parse(item["data"] as string) as NotificationEvent);
    },
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
