/**
 * The DynamoDB requests of ingest, one per kind of item: a unit read back and written
 * conditionally on its version, an aggregate added to once per run (marked with the run),
 * and an experiment's data-quality counters. Layout and keys: ../store.ts.
 */
import { NumberValue, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { writeIf, type Db, type Item, type Key } from "../../../shared/node/dynamo.js";
import { aggregateAttribute, RUN_ATTRIBUTE, statsKeys } from "../store.js";
import type { ExactDelta } from "../metrics.js";
import type { PendingEntry, UnitItem } from "./unit-update.js";
import type { ExperimentWork } from "./work.js";

/** Unit items hold only safe integers: read back as plain numbers (the table is read with exact numbers). */
const plain = (value: unknown): unknown =>
  value instanceof NumberValue
    ? Number(value.value)
    : Array.isArray(value)
      ? value.map(plain)
      : value && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
        : value;

export function unitFromItem(raw: Item | undefined): UnitItem | undefined {
  if (!raw) return undefined;
  const item = plain(raw) as Item;
  return {
    variant: item["variant"] as string,
    firstExposure: Number(item["firstExposure"]),
    version: Number(item["version"]),
    metrics: (item["metrics"] as UnitItem["metrics"]) ?? {},
    pending: (item["pending"] as PendingEntry[]) ?? [],
    ...(item["multipleVariants"] ? { multipleVariants: true } : {}),
  };
}

/** Writes the unit's next item if it is still at the version read (absent: still absent); false when it is not. */
export const putUnit = (db: Db, key: Key, next: UnitItem, current: UnitItem | undefined): Promise<boolean> =>
  writeIf(
    db,
    new PutCommand({
      TableName: db.table,
      Item: { ...key, ...next },
      ...(current
        ? { ConditionExpression: "version = :version", ExpressionAttributeValues: { ":version": current.version } }
        : { ConditionExpression: "attribute_not_exists(pk)" }),
    }),
  );

/** `run|<id>` attributes of an aggregate item: the runs that added to it and are not known settled. */
export function runsNamedIn(item: Item | undefined): Array<{ attribute: string; run: string; at: number }> {
  return Object.entries(item ?? {})
    .filter(([name]) => name.startsWith(RUN_ATTRIBUTE))
    .map(([attribute, at]) => ({ attribute, run: attribute.slice(RUN_ATTRIBUTE.length), at: Number(plain(at)) }));
}

/** Adds one series' delta to what a cell's aggregate item adds, by attribute (count `n`, sum `s`, squares `q`). */
export function addDelta(adds: Map<string, bigint>, variant: string, series: string, delta: ExactDelta): void {
  for (const [stat, value] of [
    ["n", BigInt(delta.n)],
    ["s", delta.sum],
    ["q", delta.sumSquares],
  ] as const) {
    const attribute = aggregateAttribute(stat, variant, series);
    adds.set(attribute, (adds.get(attribute) ?? 0n) + value);
  }
}

/**
 * Adds `add` to the aggregate item once per run: marked `run|<id>` = `started`, and not written
 * when the mark is there already (a retried request that had landed). `remove` drops the marks of
 * runs known to be done.
 */
export async function addToAggregate(
  db: Db,
  Key: Key,
  add: Map<string, bigint>,
  run: string,
  started: number,
  remove: string[],
): Promise<void> {
  const names: Record<string, string> = { "#run": `${RUN_ATTRIBUTE}${run}` };
  const values: Record<string, unknown> = { ":started": started };
  const adds = [...add].map(([attribute, value], i) => {
    names[`#a${i}`] = attribute;
    values[`:a${i}`] = value; // a BigInt: marshalled exactly
    return `#a${i} :a${i}`;
  });
  const removes = remove.map((attribute, i) => {
    names[`#r${i}`] = attribute;
    return `#r${i}`;
  });
  const removing = removes.length ? ` REMOVE ${removes.join(", ")}` : "";
  await writeIf(
    db,
    new UpdateCommand({
      TableName: db.table,
      Key,
      UpdateExpression: `SET #run = :started ADD ${adds.join(", ")}${removing}`,
      ConditionExpression: "attribute_not_exists(#run)",
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Freshness and data quality of one experiment: one update per run. */
export async function recordQuality(
  db: Db,
  experiment: ExperimentWork,
  now: number,
  queueLagMs: number | undefined,
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ":now": now, ":rejected": experiment.rejectedExposures };
  const adds = ["rejectedExposures :rejected"];
  Object.entries(experiment.dropped).forEach(([reason, count], i) => {
    names[`#d${i}`] = `dropped|${reason}`;
    values[`:d${i}`] = count;
    adds.push(`#d${i} :d${i}`);
  });
  const sets = ["lastIngestedAt = :now"];
  if (queueLagMs !== undefined) {
    values[":lag"] = Math.max(0, Math.round(queueLagMs));
    sets.push("queueLagMs = :lag");
  }
  await db.client.send(
    new UpdateCommand({
      TableName: db.table,
      Key: statsKeys.quality(experiment.project, experiment.key),
      UpdateExpression: `SET ${sets.join(", ")} ADD ${adds.join(", ")}`,
      ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: values,
    }),
  );
}
