/**
 * Per-project webhooks: the endpoint (`PROJECT#<p>`, `WEBHOOK#<id>`), its delivery cursor
 * into the project's event log and its delivery log (`WEBHOOK#<p>#<id>`: `CURSOR`, `L#…`).
 * A new webhook starts after the last event logged: it gets what happens from then on.
 */
import { DeleteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import { ApiError } from "../../../shared/http/errors.js";
import type { Db } from "../../../shared/node/dynamo.js";
import type { WebhookFormat } from "./bodies.js";
import type { EventLog, EventType } from "./events.js";
import { readItem, readItems, writeItem } from "./items.js";
import { newWebhookSecret } from "./signature.js";

export interface Webhook {
  id: string;
  project: string;
  url: string;
  format: WebhookFormat;
  /** The event types delivered; empty: all. */
  events: EventType[];
  description: string;
  createdAt: string;
  createdBy: string;
  /** The HMAC key: shown once, when created. */
  secret: string;
}

/** Where a webhook's deliveries stand: the last event delivered (or passed over), and the head's retries. */
export interface Cursor {
  delivered: number;
  attempts: number;
  nextAttemptAt?: string;
  leaseUntil?: string;
  /** When the dispatcher first saw the log's next number missing. */
  gapSince?: string;
}

export interface Delivery {
  eventId: string;
  type: string;
  seq: number;
  attempt: number;
  at: string;
  ok: boolean;
  status?: number;
  error?: string;
  ms: number;
}

export type WebhookInput = Pick<Webhook, "url" | "format" | "events" | "description">;

export const webhookKey = (project: string, id: string) => ({ pk: `PROJECT#${project}`, sk: `WEBHOOK#${id}` });
export const cursorKey = (project: string, id: string) => ({ pk: `WEBHOOK#${project}#${id}`, sk: "CURSOR" });

const hidden = ({ secret: _, ...rest }: Webhook) => rest;
export type WebhookView = ReturnType<typeof hidden>;

export function createWebhookStore(db: Db, events: EventLog, now: () => number = Date.now) {
  const TableName = db.table;

  async function get(project: string, id: string): Promise<Webhook> {
    const found = await readItem<Webhook>(db, webhookKey(project, id));
    if (!found) throw new ApiError({ status: 404, message: `No webhook ${id} in project ${project}` });
    return found.record;
  }

  return {
    get,
    /** Every webhook of the project, secrets included (the dispatcher signs with them). */
    all: async (project: string): Promise<Webhook[]> =>
      (await readItems<Webhook>(db, `PROJECT#${project}`, "WEBHOOK#")).map((item) => item.record),
    list: async (project: string): Promise<WebhookView[]> =>
      (await readItems<Webhook>(db, `PROJECT#${project}`, "WEBHOOK#")).map((item) => hidden(item.record)),
    view: async (project: string, id: string): Promise<WebhookView> => hidden(await get(project, id)),

    async create(project: string, input: WebhookInput, actor: string): Promise<Webhook> {
      const webhook: Webhook = {
        id: randomUUID().slice(0, 8),
        project,
        ...input,
        createdAt: new Date(now()).toISOString(),
        createdBy: actor,
        secret: newWebhookSecret(),
      };
      const start: Cursor = { delivered: await events.lastSeq(project), attempts: 0 };
      await writeItem(db, cursorKey(project, webhook.id), start, undefined);
      await writeItem(db, webhookKey(project, webhook.id), webhook, undefined);
      return webhook;
    },

    async remove(project: string, id: string): Promise<WebhookView> {
      const webhook = await get(project, id);
      await db.client.send(new DeleteCommand({ TableName, Key: webhookKey(project, id) }));
      await db.client.send(new DeleteCommand({ TableName, Key: cursorKey(project, id) }));
      return hidden(webhook);
    },

    cursor: (project: string, id: string) => readItem<Cursor>(db, cursorKey(project, id)),
    /** Moves the cursor from revision `rev`; false when another dispatcher moved it first. */
    saveCursor: (project: string, id: string, cursor: Cursor, rev: number) =>
      writeItem(db, cursorKey(project, id), cursor, rev),

    async logDelivery(project: string, id: string, delivery: Delivery): Promise<void> {
      const sk = `L#${delivery.at}#${String(delivery.seq).padStart(12, "0")}#${delivery.attempt}`;
      await db.client.send(
        new PutCommand({ TableName, Item: { pk: `WEBHOOK#${project}#${id}`, sk, data: JSON.stringify(delivery) } }),
      );
    },

    /** The latest deliveries and attempts, newest first. */
    async deliveries(project: string, id: string, limit = 50): Promise<Delivery[]> {
      await get(project, id);
      const { Items = [] } = await db.client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
          ExpressionAttributeValues: { ":pk": `WEBHOOK#${project}#${id}`, ":prefix": "L#" },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      return Items.map((item) => JSON.parse(item["data"] as string) as Delivery);
    },
  };
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;
