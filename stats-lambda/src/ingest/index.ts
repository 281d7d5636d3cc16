/**
 * Ingest of a queue delivery (at-least-once), as batch work in five named steps:
 * 1. `planWork`: the delivery becomes work per experiment and unit (work.ts);
 * 2. `readUnits`: one bulk read: every unit's item, every event's dedup marker, then the
 *    settle markers of the runs still pending on those units (runs.ts);
 * 3. `writeUnits`: each unit's exposures and events merge into one new item (unit-update.ts),
 *    written with one conditional put, many at once; a unit changed meanwhile is re-read and
 *    redone;
 * 4. `addAggregates`: the contributions of the units written are summed and added once per
 *    (experiment, day, variant, metric), into this run's shard, marked with the run's id so the
 *    add happens once;
 * 5. `markSettled`: event markers, then this run's settle marker.
 * With an event store configured, the delivery's rows are appended to it instead
 * (event-store/writer.ts): one file per partition, finished before the run returns (so before
 * the delivery is acknowledged), and steps 2–5 are skipped: the metric engine computes reports
 * from the store, so no DynamoDB request is made per event or unit, and no experiment has a
 * hot partition. Only the data-quality counters are kept, one update per experiment and run.
 * `unitAggregates: true` keeps steps 2–5 as well (the parity tests compare the two sources).
 * A run that passes its deadline before step 4 stops (the delivery is retried and a later
 * run adopts what it wrote). See docs/ingest.md for why this is exactly-once.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { randomUUID } from "node:crypto";
import {
  batchGet,
  batchPut,
  itemId,
  mapConcurrent,
  type Db,
  type Item,
  type Key,
} from "../../../shared/node/dynamo.js";
import type { Catalog } from "../catalog.js";
import { storeRows, type ProjectRows } from "../event-store/rows.js";
import type { EventStoreWriter } from "../event-store/writer.js";
import { MARKER_TTL_MS, statsKeys } from "../store.js";
import { addDelta, addToAggregate, putUnit, recordQuality, runsNamedIn, unitFromItem } from "./items.js";
import { experimentsOnly } from "../releases/collection.js";
import { RunStatuses, shardOf, type LocatedEntry } from "./runs.js";
import { contributionsOf, updateUnit, type UnitItem, type UnitUpdate } from "./unit-update.js";
import { experimentWork, parseDelivery, type DeliveredMessage, type ExperimentWork, type UnitWork } from "./work.js";

export type { DeliveredMessage } from "./work.js";
export { DEAD_AFTER_MS } from "./runs.js";

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

/** A run never starts an aggregate write later than this after it started. */
export const RUN_DEADLINE_MS = 20_000;
const MAX_ATTEMPTS = 8;

/** One ingest run: its id (what marks its writes), its clock and deadline, and its table. */
interface Run {
  id: string;
  db: Db;
  clock: () => number;
  started: number;
  deadline: number;
  concurrency: number;
  log: (message: string) => void;
}

/** Throws once the run is past its deadline: a later write could land after the delivery was retried. */
function beforeDeadline(run: Run): void {
  if (run.clock() > run.deadline)
    throw new Error(`Ingest run ${run.id} passed its deadline; the delivery will be retried`);
}

/** One unit of one experiment, as read in step 2. */
interface UnitJob {
  experiment: ExperimentWork;
  work: UnitWork;
  key: Key;
  current: UnitItem | undefined;
}

/** A unit once step 3 is done with it: what it wrote, or found nothing to write. */
interface MergedUnit {
  experiment: ExperimentWork;
  update: UnitUpdate;
}

export async function ingest(
  messages: readonly DeliveredMessage[],
  db: Db,
  catalog: Catalog,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const clock = options.now ?? Date.now;
  const started = clock();
  const run: Run = {
    id: randomUUID(),
    db,
    clock,
    started,
    deadline: started + (options.deadlineMs ?? RUN_DEADLINE_MS),
    concurrency: options.concurrency ?? 32,
    log: options.log ?? console.warn,
  };

  const { experiments, rows, rejected } = await planWork(run, messages, catalog, options.eventStore !== undefined);
  // The event store's append runs beside the DynamoDB work; the run ends once both have.
  const appended = options.eventStore?.append(
    messages.map((m) => m.id),
    rows,
  );
  appended?.catch(() => {}); // awaited below: a failure fails the run, without an unhandled rejection meanwhile
  const result = emptyResult(rejected, experiments);
  if (appended && !options.unitAggregates) {
    for (const projectRows of rows) {
      result.exposures += projectRows.exposures.length;
      result.events += projectRows.events.length;
    }
  } else {
    const { jobs, markers, runs } = await readUnits(run, experiments);
    const merged = await writeUnits(run, jobs, markers, runs);
    countUnits(result, merged);
    await addAggregates(run, merged, runs);
    await markSettled(run, experiments, merged);
  }
  await mapConcurrent(experiments, run.concurrency, (experiment) =>
    recordQuality(db, experiment, clock(), options.queueLagMs),
  );
  if (appended) result.stored = (await appended).rows;
  return result;
}

/**
 * Step 1: the delivery's work per experiment and unit, and its rows for the event store (when
 * there is one). Messages sent after the catalog's last read may follow a start, stop or
 * restart: it is read again then.
 */
async function planWork(
  run: Run,
  messages: readonly DeliveredMessage[],
  catalog: Catalog,
  withStore: boolean,
): Promise<{ experiments: ExperimentWork[]; rows: ProjectRows[]; rejected: number }> {
  const { byProject, rejected } = parseDelivery(messages, run.log);
  const experiments: ExperimentWork[] = [];
  const rows: ProjectRows[] = [];
  for (const [project, projectMessages] of byProject) {
    let newest = 0;
    for (const { message } of projectMessages.exposures) newest = Math.max(newest, message.time);
    for (const { message } of projectMessages.events)
      for (const event of message.events) newest = Math.max(newest, event.time);
    let running = await catalog.running(project, Math.min(newest, run.started));
    const named = projectMessages.exposures.flatMap(({ message }) => message.exposures.map((e) => e.flagKey));
    // an experiment may have just started
    if (named.some((key) => !running.has(key))) running = await catalog.refresh(project);
    experiments.push(...experimentWork(project, projectMessages, experimentsOnly(running), run.started, run.log));
    if (withStore) rows.push(storeRows(project, projectMessages, running, run.started));
  }
  return { experiments, rows, rejected };
}

/** The result before any unit is counted: what the delivery's parse rejected and dropped. */
function emptyResult(rejected: number, experiments: readonly ExperimentWork[]): IngestResult {
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
  return result;
}

/** The pending entries of a job's unit, with what locates their aggregates. */
const pendingOf = (job: UnitJob): LocatedEntry[] =>
  job.current
    ? job.current.pending.map((entry) => ({
        project: job.experiment.project,
        flag: job.experiment.key,
        variant: job.current!.variant,
        entry,
      }))
    : [];

const eventKeysOf = (job: UnitJob) => job.work.events.map((event) => statsKeys.event(job.experiment.project, event.id));

/** The ids of a job's events that carry a settled marker in `found`. */
const seenIn = (found: Map<string, Item>, job: UnitJob) => {
  const keys = eventKeysOf(job);
  return new Set(job.work.events.filter((_, i) => found.has(itemId(keys[i]!))).map((e) => e.id));
};

/** Step 2: every unit's item and every event's marker in bulk, then the runs pending on those units. */
async function readUnits(
  run: Run,
  experiments: readonly ExperimentWork[],
): Promise<{ jobs: UnitJob[]; markers: Map<string, Item>; runs: RunStatuses }> {
  const jobs: UnitJob[] = experiments.flatMap((experiment) =>
    [...experiment.units.values()].map((work) => ({
      experiment,
      work,
      key: statsKeys.unit(experiment.project, experiment.key, work.unit),
      current: undefined,
    })),
  );
  const [units, markers] = await Promise.all([
    batchGet(
      run.db,
      jobs.map((j) => j.key),
      run.concurrency,
    ),
    batchGet(run.db, jobs.flatMap(eventKeysOf), run.concurrency),
  ]);
  for (const job of jobs) job.current = unitFromItem(units.get(itemId(job.key)));
  const runs = new RunStatuses(run.db, run.clock, run.concurrency);
  await runs.load(jobs.flatMap(pendingOf));
  return { jobs, markers, runs };
}

/** Step 3: one conditional write per changed unit, many at once. */
function writeUnits(run: Run, jobs: UnitJob[], markers: Map<string, Item>, runs: RunStatuses): Promise<MergedUnit[]> {
  const now = run.clock();
  return mapConcurrent(jobs, run.concurrency, async (job) => ({
    experiment: job.experiment,
    update: await writeUnit(run, job, seenIn(markers, job), runs, now),
  }));
}

/** Merges one unit and writes it; a unit changed meanwhile is read again (with its events' markers) and redone. */
async function writeUnit(
  run: Run,
  job: UnitJob,
  seen: ReadonlySet<string>,
  runs: RunStatuses,
  now: number,
): Promise<UnitUpdate> {
  let seenEvents = seen;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const update = updateUnit({
      current: job.current,
      exposures: job.work.exposures,
      events: job.work.events,
      seenEvents,
      status: runs.statusFor(job.experiment, job.current?.variant),
      run: run.id,
      now,
    });
    if (!update.next) return update;
    beforeDeadline(run);
    if (await putUnit(run.db, job.key, update.next, job.current)) return update;
    // Changed meanwhile: read the unit and its events' markers again (a run that wrote it
    // may have settled since, and a later write dropped its entry).
    const { Item } = await run.db.client.send(
      new GetCommand({ TableName: run.db.table, Key: job.key, ConsistentRead: true }),
    );
    const reread = unitFromItem(Item);
    // Our own write, landed before an error the SDK retried: it is what we computed.
    if (reread?.pending.some((e) => e.run === run.id)) return update;
    job.current = reread;
    seenEvents = seenIn(await batchGet(run.db, eventKeysOf(job)), job);
    await runs.load(pendingOf(job));
  }
  throw new Error(`Too much contention on ${job.key.pk} ${job.key.sk}`);
}

/** What the units counted: applied exposures and events, duplicates, and the messages to redeliver. */
function countUnits(result: IngestResult, merged: readonly MergedUnit[]): void {
  for (const { update } of merged) {
    result.exposures += update.exposures;
    result.events += update.events;
    result.duplicates += update.duplicates;
    result.retry.push(...update.defer);
  }
}

/** An aggregate item this run adds to, and what it adds, by attribute. */
interface AggregateCell {
  experiment: ExperimentWork;
  key: Key;
  add: Map<string, bigint>;
}

/** The written units' contributions, summed per aggregate item of this run's shard. */
function cellsToAdd(run: Run, merged: readonly MergedUnit[]): AggregateCell[] {
  const perCell = new Map<string, AggregateCell>();
  for (const { experiment, update } of merged) {
    if (!update.own || !update.next) continue;
    const variant = update.next.variant;
    for (const { day, series, delta } of contributionsOf(update.own)) {
      const key = statsKeys.aggregate(experiment.project, experiment.key, day, shardOf(run.id), variant, series);
      let cell = perCell.get(itemId(key));
      if (!cell) perCell.set(itemId(key), (cell = { experiment, key, add: new Map() }));
      addDelta(cell.add, variant, series, delta);
    }
  }
  return [...perCell.values()];
}

/**
 * Step 4: one add per (experiment, day, variant, metric) into this run's shard. Each add also
 * removes the marks of runs that settled (or are long gone): they need no mark any more.
 */
async function addAggregates(run: Run, merged: readonly MergedUnit[], runs: RunStatuses): Promise<void> {
  const cells = cellsToAdd(run, merged);
  const items = await batchGet(
    run.db,
    cells.map((c) => c.key),
    run.concurrency,
  );
  await runs.loadRuns(
    cells.flatMap((c) =>
      runsNamedIn(items.get(itemId(c.key))).map((r) => ({
        project: c.experiment.project,
        flag: c.experiment.key,
        run: r.run,
      })),
    ),
  );
  await mapConcurrent(cells, run.concurrency, async ({ experiment, key, add }) => {
    beforeDeadline(run);
    const stale = runsNamedIn(items.get(itemId(key))).filter(
      (r) => runs.isSettled(experiment.project, experiment.key, r.run) || r.at < run.clock() - MARKER_TTL_MS,
    );
    await addToAggregate(
      run.db,
      key,
      add,
      run.id,
      run.started,
      stale.map((r) => r.attribute),
    );
  });
}

/** Step 5: event markers, then the settle marker: a settled run's events are always marked. */
async function markSettled(run: Run, experiments: readonly ExperimentWork[], merged: readonly MergedUnit[]) {
  const expiresAt = Math.floor((run.clock() + MARKER_TTL_MS) / 1000);
  const eventMarkers = merged.flatMap(({ experiment, update }) =>
    update.next && update.own
      ? update.own.ev.map((id) => ({ ...statsKeys.event(experiment.project, id), expiresAt }))
      : [],
  );
  await batchPut(run.db, eventMarkers, run.concurrency);
  const touched = experiments.filter((e) => merged.some((m) => m.experiment === e && m.update.next));
  await batchPut(
    run.db,
    touched.map((e) => ({ ...statsKeys.run(e.project, e.key, run.id), at: run.started, expiresAt })),
    run.concurrency,
  );
}
