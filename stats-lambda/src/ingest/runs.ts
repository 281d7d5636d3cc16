/**
 * What a run knows of the other runs named in the items it reads: settled (their marker exists),
 * still running, or dead, and for a dead one which aggregate cells its add reached (its mark is
 * on them). Read in bulk, once per run and name; see unit-update.ts for what each answer means.
 */
import { murmur3 } from "../../../shared/evaluation/murmur3.js";
import { batchGet, itemId, type Db, type Item } from "../../../shared/node/dynamo.js";
import { baseMetric, RUN_ATTRIBUTE, SHARDS, statsKeys } from "../store.js";
import type { ExperimentWork } from "./work.js";
import { cellOf, contributionsOf, type EntryStatus, type PendingEntry } from "./unit-update.js";

/** A run that has not settled this long after it started is dead: the function's timeout (30 s) has long passed. */
export const DEAD_AFTER_MS = 60_000;
/** Entries older than this are settled or lost for good: no queue redelivers after 3 days. */
const PENDING_RETAIN_MS = 3 * 86_400_000;

/** The aggregate shard a run adds to: spread by run, so concurrent runs write different items. */
export const shardOf = (run: string) => murmur3(run) % SHARDS;

/** A pending entry of a unit, with what locates its aggregates. */
export interface LocatedEntry {
  project: string;
  flag: string;
  variant: string;
  entry: PendingEntry;
}

/** The aggregate cells (day, metric: one item each per variant and shard) a pending entry adds to. */
export function cellsOf(entry: PendingEntry): Array<{ day: string; metric: string }> {
  const cells = new Map<string, { day: string; metric: string }>();
  for (const { day, series } of contributionsOf(entry)) {
    const metric = baseMetric(series);
    cells.set(cellOf(day, metric), { day, metric });
  }
  return [...cells.values()];
}

export class RunStatuses {
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

  /** Reads the settle markers of runs not asked about before. */
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

  /** Reads what the entries' runs are, and for the dead ones the aggregates they were to add to. */
  async load(entries: LocatedEntry[]): Promise<void> {
    await this.loadRuns(entries.map(({ project, flag, entry }) => ({ project, flag, run: entry.run })));
    const dead = entries.filter(({ project, flag, entry }) => this.classify(project, flag, entry) === "dead");
    const keys = dead
      .flatMap(({ project, flag, variant, entry }) =>
        cellsOf(entry).map(({ day, metric }) =>
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
          .filter(({ day, metric }) => {
            const item = this.deadAggregates.get(
              itemId(statsKeys.aggregate(project, flag, day, shardOf(entry.run), variant!, metric)),
            ); // a unit with entries has a variant
            return !item || !(`${RUN_ATTRIBUTE}${entry.run}` in item);
          })
          .map(({ day, metric }) => cellOf(day, metric)),
      );
      return { kind: "dead", unappliedCells };
    };
  }
}
