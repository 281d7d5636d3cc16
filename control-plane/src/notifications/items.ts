/**
 * Revisioned JSON items for schedules and webhooks: each record sits in `data` beside a
 * `rev` counter, and every change is one put conditional on the revision read, so two
 * workers (two watchers, a watcher and a cancel) never both win.
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { queryAll, writeIf, type Db, type Key } from "../../../shared/node/dynamo.js";

export interface Revisioned<T> {
  record: T;
  rev: number;
}

export async function readItem<T>(db: Db, key: Key): Promise<Revisioned<T> | undefined> {
  const { Item } = await db.client.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }));
  if (typeof Item?.["data"] !== "string") return undefined;
  return { record: JSON.parse(Item["data"]) as T, rev: Number(Item["rev"] ?? 0) };
}

/** Stores `record` only if the item is still at revision `rev` (`undefined`: only if absent); false when it moved. */
export function writeItem<T>(db: Db, key: Key, record: T, rev: number | undefined): Promise<boolean> {
  return writeIf(
    db,
    new PutCommand({
      TableName: db.table,
      Item: { ...key, data: JSON.stringify(record), rev: (rev ?? 0) + 1 },
      ...(rev === undefined
        ? { ConditionExpression: "attribute_not_exists(pk)" }
        : { ConditionExpression: "rev = :rev", ExpressionAttributeValues: { ":rev": rev } }),
    }),
  );
}

/** Every record under `pk` whose sort key starts with `prefix`, with its revision. */
export async function readItems<T>(db: Db, pk: string, prefix: string): Promise<Array<Revisioned<T>>> {
  const items = await queryAll(db, {
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
    ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
  });
  return items.map((item) => ({ record: JSON.parse(item["data"] as string) as T, rev: Number(item["rev"] ?? 0) }));
}
