/**
 * A versioned resource's history (flags, segments, catalog metrics, groups): one item per
 * version under the resource's history partition (shared/node/control-plane-table.ts), each
 * entry holding the resource as it was. Derived from that version's conditional write, so
 * written unconditionally: writing a version's entry again writes the same item.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { type KeyPrefix, readRecord, readRecords } from "../../../shared/node/control-plane-table.js";
import type { Db } from "../../../shared/node/dynamo.js";

export interface HistoryLayout<Entry> {
  /** The item of one version (`keys.<kind>History`). */
  key: (project: string, resource: string, version: number) => Record<string, string>;
  /** Every version of one resource (`prefixes.<kind>History`). */
  prefix: (project: string, resource: string) => KeyPrefix;
  /** The key of the resource an entry is a version of. */
  resourceOf: (entry: Entry) => string;
}

export function historyRecords<Entry extends { version: number }>(db: Db, layout: HistoryLayout<Entry>) {
  return {
    put: (project: string, entry: Entry) =>
      db.client.send(
        new PutCommand({
          TableName: db.table,
          Item: { ...layout.key(project, layout.resourceOf(entry), entry.version), data: JSON.stringify(entry) },
        }),
      ),
    get: async (project: string, resource: string, version: number): Promise<Entry | undefined> =>
      (await readRecord<Entry>(db, layout.key(project, resource, version)))?.record,
    list: (project: string, resource: string) => readRecords<Entry>(db, layout.prefix(project, resource)),
  };
}
