/**
 * Data access for reusable segments: the current version of each (one conditional write per
 * change, as flags and catalog metrics) and its history (derived, idempotent per version).
 */
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { changeSchema } from "../../../shared/authoring/schema.js";
import { segmentSchema } from "../../../shared/authoring/segments.js";
import { keys, prefixes, readRecords } from "../../../shared/node/control-plane-table.js";
import { writeIf, type Db } from "../../../shared/node/dynamo.js";
import { historyEntrySchema } from "../db/records.js";
import { historyRecords } from "../db/history-records.js";
import type { VersionedWrite } from "../db/metric-store.js";

/** A segment as stored: the definition plus its version and last change. */
export const storedSegmentSchema = segmentSchema.extend({
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastChange: changeSchema,
});
export type StoredSegment = z.infer<typeof storedSegmentSchema>;

/** One past version of a segment, with who changed it, when, how, and the diff (a deletion is the last entry). */
export const segmentHistoryEntrySchema = historyEntrySchema
  .omit({ flag: true })
  .extend({ segment: storedSegmentSchema });
export type SegmentHistoryEntry = z.infer<typeof segmentHistoryEntrySchema>;

/** Records by key (the compiler's lookup of groups and segments). */
export const byKey = <T extends { key: string }>(records: readonly T[]): Map<string, T> =>
  new Map(records.map((record) => [record.key, record]));

export function createSegmentStore(db: Db) {
  const { client, table: TableName } = db;
  const history = historyRecords<SegmentHistoryEntry>(db, {
    key: keys.segmentHistory,
    prefix: prefixes.segmentHistory,
    resourceOf: (entry) => entry.segment.key,
  });

  async function get<T>(key: Record<string, string>): Promise<T | undefined> {
    const { Item } = await client.send(new GetCommand({ TableName, Key: key, ConsistentRead: true }));
    return typeof Item?.["data"] === "string" ? (JSON.parse(Item["data"]) as T) : undefined;
  }

  return {
    getSegment: (project: string, key: string) => get<StoredSegment>(keys.segment(project, key)),
    listSegments: (project: string) => readRecords<StoredSegment>(db, prefixes.segments(project)),
    /** Writes `segment` if the stored version is `expected` (`undefined`: it must not exist yet). */
    async putSegment(project: string, segment: StoredSegment, expected: number | undefined): Promise<VersionedWrite> {
      const written = await writeIf(
        db,
        new PutCommand({
          TableName,
          Item: { ...keys.segment(project, segment.key), data: JSON.stringify(segment), version: segment.version },
          ...(expected === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "version = :expected", ExpressionAttributeValues: { ":expected": expected } }),
        }),
      );
      if (written) return { written: true };
      return { written: false, current: (await get<StoredSegment>(keys.segment(project, segment.key)))?.version };
    },
    /** Deletes the segment if it is still at `version`; false when it moved on (or is gone). */
    deleteSegment: (project: string, key: string, version: number) =>
      writeIf(
        db,
        new DeleteCommand({
          TableName,
          Key: keys.segment(project, key),
          ConditionExpression: "version = :version",
          ExpressionAttributeValues: { ":version": version },
        }),
      ),
    putSegmentHistory: history.put,
    getSegmentHistory: history.get,
    listSegmentHistory: history.list,
  };
}
