/**
 * Ingest of a queue delivery (at-least-once), as batch work:
 * 1. the delivery becomes work per experiment and unit (work.ts);
 * 2. one bulk read: every unit's item, every event's dedup marker, then the settle
 *    markers of the runs still pending on those units;
 * 3. each unit's exposures and events merge into one new item (unit-update.ts), written
 *    with one conditional put, many at once; a unit changed meanwhile is re-read and
 *    redone;
 * 4. the contributions of the units written are summed and added once per (experiment,
 *    day, variant, metric), into this run's shard, marked with the run's id so the add
 *    happens once;
 * 5. event markers, then this run's settle marker.
 * With an event store configured, the delivery's rows are appended to it instead
 * (event-store/writer.ts): one file per partition, finished before the run returns (so before
 * the delivery is acknowledged), and steps 2–5 are skipped: the metric engine computes reports
 * from the store, so no DynamoDB request is made per event or unit, and no experiment has a
 * hot partition. Only the data-quality counters are kept, one update per experiment and run.
 * `unitAggregates: true` keeps steps 2–5 as well (the parity tests compare the two sources).
 * A run that passes its deadline before step 4 stops (the delivery is retried and a later
 * run adopts what it wrote). See docs/ingest.md for why this is exactly-once.
 */
import { GetCommand, NumberValue, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import { murmur3 } from "../../../shared/evaluation/murmur3.js";
import {
  batchGet,
  batchPut,
  writeIf,
  itemId,
  mapConcurrent,
  type Db,
  type Item,
  type Key,
} from "../../../shared/node/dynamo.js";
import type { Catalog } from "../catalog.js";
import { storeRows, type ProjectRows } from "../event-store/rows.js";
import type { EventStoreWriter } from "../event-store/writer.js";
import { aggregateAttribute, baseMetric, MARKER_TTL_MS, RUN_ATTRIBUTE, SHARDS, statsKeys } from "../store.js";
import {
  cellOf,
  updateUnit,
  type EntryStatus,
  type PendingEntry,
  type UnitItem,
  type UnitUpdate,
} from "./unit-update.js";
import { experimentWork, parseDelivery, type DeliveredMessage, type ExperimentWork, type UnitWork } from "./work.js";

export type { DeliveredMessage } from "./work.js";

export interface IngestResult {
  exposures: number;
  events: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  rejectedExposures: number;
  /** Ids of messages to deliver again later (applied by a run that has not settled yet). */
  retry: string[];
  /** Rows appended to the event store (when one is configured). */
  stored?: number;
}

export interface IngestOptions {
  log?: (message: string) => void;
  now?: () => number;
  /** Conditional writes in flight at once. */
  concurrency?: number;
  /** How long the oldest message of this delivery waited in the queue (from the consumer). */
  queueLagMs?: number;
  /** Stop before the aggregate writes past this many ms (the function's timeout is 30 s). */
  deadlineMs?: number;
  /** Where every accepted exposure and event is appended (the event store); none when absent. */
  eventStore?: EventStoreWriter;
  /** Keep the per-unit DynamoDB aggregates (steps 2–5) beside the store; always kept without a store. */
  unitAggregates?: boolean;
}

/** A run that has not settled this long after it started is dead: the function's timeout (30 s) has long passed. */
export const DEAD_AFTER_MS = 60_000;
/** A run never starts an aggregate write later than this after it started. */
export const RUN_DEADLINE_MS = 20_000;
/** Entries older than this are settled or lost for good: no queue redelivers after 3 days. */
const PENDING_RETAIN_MS = 3 * 86_400_000;
const MAX_ATTEMPTS = 8;

const shardOf = (run: string) => murmur3(run) % SHARDS;

interface UnitJob {
  experiment: ExperimentWork;
  work: UnitWork;
  key: Key;
  current: UnitItem | undefined;
  update?: UnitUpdate;
}

export async function ingest(
  messages: readonly DeliveredMessage[],
  db: Db,
  catalog: Catalog,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const log = options.log ?? console.warn;
  const clock = options.now ?? Date.now;
  const started = clock();
  const deadline = started + (options.deadlineMs ?? RUN_DEADLINE_MS);
  const run = randomUUID();
  const concurrency = options.concurrency ?? 32;

  // 1. Work per experiment and unit.
  const { byProject, rejected } = parseDelivery(messages, log);
  const experiments: ExperimentWork[] = [];
  const stored: ProjectRows[] = [];
  for (const [project, projectMessages] of byProject) {
    // Messages sent after the catalog's last read may follow a start, stop or restart: read it again.
    let newest = 0;
    for (const { message } of projectMessages.exposures) newest = Math.max(newest, message.time);
    for (const { message } of projectMessages.events)
      for (const event of message.events) newest = Math.max(newest, event.time);
    let running = await catalog.running(project, Math.min(newest, started));
    const named = projectMessages.exposures.flatMap(({ message }) => message.exposures.map((e) => e.flagKey));
    // an experiment may have just started
    if (named.some((key) => !running.has(key))) running = await catalog.refresh(project);
    experiments.push(...experimentWork(project, projectMessages, running, started, log));
    if (options.eventStore) stored.push(storeRows(project, projectMessages, running, started));
  }
  // The event store's append runs beside the DynamoDB work; the run ends once both have.
  const appended = options.eventStore?.append(
    messages.map((m) => m.id),
    stored,
  );
  appended?.catch(() => {}); // awaited below: a failure fails the run, without an unhandled rejection meanwhile
  const result: IngestResult = {
    exposures: 0,
    events: 0,
    duplicates: 0,
    rejected,
    dropped: 0,
    rejectedExposures: 0,
    retry: [],
  };
  for (const experiment of experiments) {
    result.rejectedExposures += experiment.rejectedExposures;
    result.dropped += Object.values(experiment.dropped).reduce((a, b) => a + b, 0);
  }
  if (appended && !options.unitAggregates) {
    for (const rows of stored) {
      result.exposures += rows.exposures.length;
      result.events += rows.events.length;
    }
    await recordAllQuality(db, experiments, clock, concurrency, options.queueLagMs);
    result.stored = (await appended).rows;
    return result;
  }

  // 2. Bulk reads: units and event markers, then the runs pending on those units.
  const jobs: UnitJob[] = experiments.flatMap((experiment) =>
    [...experiment.units.values()].map((work) => ({
      experiment,
      work,
      key: statsKeys.unit(experiment.project, experiment.key, work.unit),
      current: undefined,
    })),
  );
  const eventKeys = experiments.flatMap((e) =>
    [...e.units.values()].flatMap((u) => u.events.map((event) => statsKeys.event(e.project, event.id))),
  );
  const [units, markers] = await Promise.all([
    batchGet(
      db,
      jobs.map((j) => j.key),
      concurrency,
    ),
    batchGet(db, eventKeys, concurrency),
  ]);
  for (const job of jobs) job.current = fromItem(units.get(itemId(job.key)));
  const runs = new RunStatuses(db, clock, concurrency);
  await runs.load(jobs.flatMap((job) => pendingOf(job)));

  // 3. One conditional write per changed unit.
  const now = clock();
  const seenIn = (found: Map<string, Item>, job: UnitJob) =>
    new Set(
      job.work.events.filter((e) => found.has(itemId(statsKeys.event(job.experiment.project, e.id)))).map((e) => e.id),
    );
  await mapConcurrent(jobs, concurrency, async (job) => {
    let seenEvents = seenIn(markers, job);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const update = updateUnit({
        current: job.current,
        exposures: job.work.exposures,
        events: job.work.events,
        seenEvents,
        status: runs.statusFor(job.experiment, job.current?.variant),
        run,
        now,
      });
      if (!update.next) return void (job.update = update);
      if (clock() > deadline) throw new Error(`Ingest run ${run} passed its deadline; the delivery will be retried`);
      if (await putUnit(db, job.key, update.next, job.current)) return void (job.update = update);
      // Changed meanwhile: read the unit and its events' markers again (a run that wrote it
      // may have settled since, and a later write dropped its entry).
      const { Item } = await db.client.send(
        new GetCommand({ TableName: db.table, Key: job.key, ConsistentRead: true }),
      );
      const reread = fromItem(Item);
      // Our own write, landed before an error the SDK retried: it is what we computed.
      if (reread?.pending.some((e) => e.run === run)) return void (job.update = update);
      job.current = reread;
      seenEvents = seenIn(
        await batchGet(
          db,
          job.work.events.map((e) => statsKeys.event(job.experiment.project, e.id)),
        ),
        job,
      );
      await runs.load(pendingOf(job));
    }
    throw new Error(`Too much contention on ${job.key.pk} ${job.key.sk}`);
  });

  // 4. Aggregates: one add per (experiment, day, variant, metric) into this run's shard.
  const perCell = new Map<string, { experiment: ExperimentWork; key: Key; add: Map<string, bigint> }>();
  for (const job of jobs) {
    const update = job.update!;
    result.exposures += update.exposures;
    result.events += update.events;
    result.duplicates += update.duplicates;
    result.retry.push(...update.defer);
    const own = update.own;
    if (!own || !update.next) continue;
    const variant = update.next.variant;
    for (const [entryKey, [n, sum, sumSquares]] of Object.entries(own.d)) {
      const [day, metric] = [entryKey.slice(0, entryKey.indexOf("|")), entryKey.slice(entryKey.indexOf("|") + 1)];
      const key = statsKeys.aggregate(job.experiment.project, job.experiment.key, day, shardOf(run), variant, metric);
      const id = itemId(key);
      let cell = perCell.get(id);
      if (!cell) perCell.set(id, (cell = { experiment: job.experiment, key, add: new Map() }));
      for (const [stat, value] of [
        ["n", BigInt(n)],
        ["s", BigInt(sum)],
        ["q", BigInt(sumSquares)],
      ] as const) {
        const attribute = aggregateAttribute(stat, variant, metric);
        cell.add.set(attribute, (cell.add.get(attribute) ?? 0n) + value);
      }
    }
  }
  const cells = [...perCell.values()];
  const aggregateItems = await batchGet(
    db,
    cells.map((c) => c.key),
    concurrency,
  );
  await runs.loadRuns(
    cells.flatMap((c) =>
      runsNamedIn(aggregateItems.get(itemId(c.key))).map((r) => ({
        project: c.experiment.project,
        flag: c.experiment.key,
        run: r.run,
      })),
    ),
  );
  await mapConcurrent(cells, concurrency, async ({ experiment, key, add }) => {
    if (clock() > deadline) throw new Error(`Ingest run ${run} passed its deadline; the delivery will be retried`);
    // Runs that settled (or are long gone) need no mark any more.
    const stale = runsNamedIn(aggregateItems.get(itemId(key))).filter(
      (r) => runs.isSettled(experiment.project, experiment.key, r.run) || r.at < clock() - MARKER_TTL_MS,
    );
    await addToAggregate(
      db,
      key,
      add,
      run,
      started,
      stale.map((r) => r.attribute),
    );
  });

  // 5. Event markers, then the settle marker: a settled run's events are always marked.
  const expiresAt = Math.floor((clock() + MARKER_TTL_MS) / 1000);
  const eventMarkers = jobs.flatMap((job) =>
    job.update?.next && job.update.own
      ? job.update.own.ev.map((id) => ({ ...statsKeys.event(job.experiment.project, id), expiresAt }))
      : [],
  );
  await batchPut(db, eventMarkers, concurrency);
  const touched = experiments.filter((e) => jobs.some((j) => j.experiment === e && j.update?.next));
  await batchPut(
    db,
    touched.map((e) => ({ ...statsKeys.run(e.project, e.key, run), at: started, expiresAt })),
    concurrency,
  );

  await recordAllQuality(db, experiments, clock, concurrency, options.queueLagMs);
  if (appended) result.stored = (await appended).rows;
  return result;
}

/** The pending entries of a job's unit, with what locates their aggregates. */
const pendingOf = (job: UnitJob) =>
  job.current
    ? job.current.pending.map((entry) => ({
        project: job.experiment.project,
        flag: job.experiment.key,
        variant: job.current!.variant,
        entry,
      }))
    : [];

/** Unit items hold only safe integers: read back as plain numbers (the table is read with exact numbers). */
const plain = (value: unknown): unknown =>
  value instanceof NumberValue
    ? Number(value.value)
    : Array.isArray(value)
      ? value.map(plain)
      : value && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
        : value;

function fromItem(raw: Item | undefined): UnitItem | undefined {
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

const putUnit = (db: Db, key: Key, next: UnitItem, current: UnitItem | undefined): Promise<boolean> =>
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
function runsNamedIn(item: Item | undefined): Array<{ attribute: string; run: string; at: number }> {
  return Object.entries(item ?? {})
    .filter(([name]) => name.startsWith(RUN_ATTRIBUTE))
    .map(([attribute, at]) => ({ attribute, run: attribute.slice(RUN_ATTRIBUTE.length), at: Number(plain(at)) }));
}

async function addToAggregate(
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
  // Not written: already added by this run (a retried request that had landed).
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

/** Freshness and data quality, once per experiment. */
const recordAllQuality = (
  db: Db,
  experiments: readonly ExperimentWork[],
  clock: () => number,
  concurrency: number,
  queueLagMs: number | undefined,
) => mapConcurrent(experiments, concurrency, (experiment) => recordQuality(db, experiment, clock(), queueLagMs));

async function recordQuality(
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

/**
 * What is known of the runs named in pending entries: settled (their marker exists),
 * still running, or dead, and for a dead one which days its aggregate add reached.
 */
class RunStatuses {
  private readonly settled = new Set<string>();
  private readonly known = new Set<string>();
  /** Aggregate items of dead runs, by item id. */
  private readonly deadAggregates = new Map<string, Item | undefined>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => number,
    private readonly concurrency: number,
  ) {}

  private runId = (project: string, flag: string, run: string) => itemId(statsKeys.run(project, flag, run));

  isSettled = (project: string, flag: string, run: string) => this.settled.has(this.runId(project, flag, run));

  async loadRuns(runs: Array<{ project: string; flag: string; run: string }>): Promise<void> {
    const keys = runs
      .filter((r) => !this.known.has(this.runId(r.project, r.flag, r.run)))
      .map((r) => statsKeys.run(r.project, r.flag, r.run));
    if (keys.length === 0) return;
    const found = await batchGet(this.db, keys, this.concurrency);
    for (const key of keys) {
      this.known.add(itemId(key));
      if (found.has(itemId(key))) this.settled.add(itemId(key));
    }
  }

  async load(entries: Array<{ project: string; flag: string; variant: string; entry: PendingEntry }>): Promise<void> {
    await this.loadRuns(entries.map(({ project, flag, entry }) => ({ project, flag, run: entry.run })));
    const dead = entries.filter(({ project, flag, entry }) => this.classify(project, flag, entry) === "dead");
    const keys = dead
      .flatMap(({ project, flag, variant, entry }) =>
        cellsOf(entry).map(([day, metric]) =>
          statsKeys.aggregate(project, flag, day, shardOf(entry.run), variant, metric),
        ),
      )
      .filter((k) => !this.deadAggregates.has(itemId(k)));
    if (keys.length === 0) return;
    const found = await batchGet(this.db, keys, this.concurrency);
    for (const key of keys) this.deadAggregates.set(itemId(key), found.get(itemId(key)));
  }

  private classify(project: string, flag: string, entry: PendingEntry): "settled" | "running" | "dead" {
    const now = this.clock();
    if (this.isSettled(project, flag, entry.run) || entry.at < now - PENDING_RETAIN_MS) return "settled";
    return entry.at >= now - DEAD_AFTER_MS ? "running" : "dead";
  }

  /** What is known of the runs behind the pending entries of a unit in `variant`. */
  statusFor(experiment: ExperimentWork, variant: string | undefined): (entry: PendingEntry) => EntryStatus {
    const { project, key: flag } = experiment;
    return (entry) => {
      const kind = this.classify(project, flag, entry);
      if (kind !== "dead") return { kind };
      const unappliedCells = new Set(
        cellsOf(entry)
          .filter(([day, metric]) => {
            const item = this.deadAggregates.get(
              itemId(statsKeys.aggregate(project, flag, day, shardOf(entry.run), variant!, metric)),
            ); // a unit with entries has a variant
            return !item || !(`${RUN_ATTRIBUTE}${entry.run}` in item);
          })
          .map(([day, metric]) => cellOf(day, metric)),
      );
      return { kind: "dead", unappliedCells };
    };
  }
}

/** The aggregate cells (day, metric: one item each per variant and shard) a pending entry adds to. */
const cellsOf = (entry: PendingEntry): Array<[string, string]> => {
  const cells = new Map<string, [string, string]>();
  for (const key of Object.keys(entry.d)) {
    const [day, metric] = [key.slice(0, key.indexOf("|")), baseMetric(key.slice(key.indexOf("|") + 1))];
    cells.set(cellOf(day, metric), [day, metric]);
  }
  return [...cells.values()];
};
