/**
 * Stage 1b of the report (after loading): the daily rows — daily deltas, whichever source
 * they came from — cumulated per (variant, series) at the end of each day, so every later
 * stage reads "everything up to look d" in O(1). Sums stay exact (BigInt) until a stage
 * turns them into statistics.
 */
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { fromExactSums, type Histogram, type SufficientStats } from "../../../shared/stats/index.js";
import {
  ALLOCATION_PREFIX,
  BEFORE_EXPOSURE,
  BUCKET_SEPARATOR,
  EPOCH_SEPARATOR,
  EXPOSURES,
  NEVER_EXPOSED,
  type AggregateRow,
} from "../store.js";

/**
 * Data-quality series dated by their events' days (metric-engine/unattributed.ts): they make
 * no look of their own (an event of a unit never exposed, before anyone was, is no look).
 */
const LOOKLESS: ReadonlySet<string> = new Set([BEFORE_EXPOSURE, NEVER_EXPOSED]);

/** Exact cumulative sums of one aggregate series. */
export interface ExactSums {
  n: number;
  sum: bigint;
  sumSquares: bigint;
}
const NO_SUMS: ExactSums = { n: 0, sum: 0n, sumSquares: 0n };
const addSums = (a: ExactSums, b: ExactSums): ExactSums => ({
  n: a.n + b.n,
  sum: a.sum + b.sum,
  sumSquares: a.sumSquares + b.sumSquares,
});

export class Cumulative {
  /** The looks: every day with a row, in order. */
  readonly days: string[];
  private readonly series = new Map<string, ExactSums[]>();
  /** Histogram buckets seen per (variant, metric). */
  private readonly buckets = new Map<string, Set<number>>();
  /** Allocation strata seen. */
  readonly allocations = new Set<string>();
  /** Histograms built so far, by (variant, metric, day): a look reads each many times. */
  private readonly histograms = new Map<string, Histogram>();
  /** Per allocation epoch, its rows renamed to plain series (`$alloc:A` → `$exposures`, `K@A` → `K`). */
  private readonly epochRows = new Map<string, AggregateRow[]>();
  /** Metrics the source sent per-epoch series for. */
  private readonly epochMetrics = new Set<string>();
  private readonly epochViews = new Map<string, Cumulative>();
  private readonly rows: readonly AggregateRow[];
  /** Every series name seen. */
  private readonly names = new Set<string>();

  /** `days`: the looks, when they are another Cumulative's (an epoch's view keeps the experiment's looks). */
  constructor(rows: readonly AggregateRow[], days?: readonly string[]) {
    this.rows = rows;
    this.days = days ? [...days] : [...new Set(rows.filter((r) => !LOOKLESS.has(r.metric)).map((r) => r.day))].sort();
    const index = new Map(this.days.map((day, i) => [day, i]));
    // A row of a series that makes no look lands on the latest look on or before its day (else the first).
    const lookOf = (day: string) => {
      const at = index.get(day);
      if (at !== undefined) return at;
      let latest = 0;
      for (const [i, look] of this.days.entries()) if (look <= day) latest = i;
      return latest;
    };
    const daily = new Map<string, ExactSums[]>();
    for (const row of rows) {
      const name = `${row.variant}|${row.metric}`;
      this.names.add(row.metric);
      let values = daily.get(name);
      if (!values) daily.set(name, (values = this.days.map(() => NO_SUMS)));
      if (this.days.length === 0) continue;
      const i = LOOKLESS.has(row.metric) ? lookOf(row.day) : index.get(row.day)!;
      values[i] = addSums(values[i]!, row);
      const separator = row.metric.indexOf(BUCKET_SEPARATOR);
      if (separator > 0) {
        const key = `${row.variant}|${row.metric.slice(0, separator)}`;
        const set = this.buckets.get(key) ?? new Set<number>();
        set.add(Number(row.metric.slice(separator + 1)));
        this.buckets.set(key, set);
      }
      if (row.metric.startsWith(ALLOCATION_PREFIX)) {
        const allocation = row.metric.slice(ALLOCATION_PREFIX.length);
        this.allocations.add(allocation);
        this.epochRow(allocation, { ...row, metric: EXPOSURES });
      } else if (row.metric.includes(EPOCH_SEPARATOR)) {
        const at = row.metric.indexOf(EPOCH_SEPARATOR);
        const rest = row.metric.slice(at + 1);
        const bucket = rest.indexOf(BUCKET_SEPARATOR);
        const base = row.metric.slice(0, at);
        this.epochMetrics.add(base);
        this.epochRow(bucket < 0 ? rest : rest.slice(0, bucket), {
          ...row,
          metric: bucket < 0 ? base : `${base}${rest.slice(bucket)}`,
        });
      }
    }
    for (const [name, values] of daily) {
      let running = NO_SUMS;
      this.series.set(
        name,
        values.map((value) => (running = addSums(running, value))),
      );
    }
  }

  private epochRow(allocation: string, row: AggregateRow): void {
    const rows = this.epochRows.get(allocation);
    if (rows) rows.push(row);
    else this.epochRows.set(allocation, [row]);
  }

  /** Whether any row has this series. */
  hasSeries = (series: string) => this.names.has(series);

  /** Whether the source sent the metric's series per allocation epoch (`K@<allocation>`). */
  hasEpochs = (metric: string) => this.epochMetrics.has(metric);

  /** The data of the units assigned under one allocation, at the same looks. */
  epoch(allocation: string): Cumulative {
    let view = this.epochViews.get(allocation);
    if (!view)
      this.epochViews.set(allocation, (view = new Cumulative(this.epochRows.get(allocation) ?? [], this.days)));
    return view;
  }

  /**
   * The same looks over other series: each row's series renamed by `rename`, rows it maps to
   * undefined left out (a metric's closed-window series read as the metric, closed-window.ts).
   */
  renamed(rename: (series: string) => string | undefined): Cumulative {
    const rows: AggregateRow[] = [];
    for (const row of this.rows) {
      const metric = rename(row.metric);
      if (metric !== undefined) rows.push({ ...row, metric });
    }
    return new Cumulative(rows, this.days);
  }

  /** The index of the latest look, −1 without data. */
  get last(): number {
    return this.days.length - 1;
  }

  at(variant: string, series: string, day: number): ExactSums {
    return this.series.get(`${variant}|${series}`)?.[day] ?? NO_SUMS;
  }

  exposures = (variant: string, day: number) => this.at(variant, EXPOSURES, day).n;

  /** Exposed units of a variant at the latest look (0 without data). */
  latestExposures = (variant: string) => (this.last >= 0 ? this.exposures(variant, this.last) : 0);

  /** Whether any variant has histogram buckets for the metric (the metric engine sends them for counts too). */
  hasHistogram(metric: string): boolean {
    for (const key of this.buckets.keys()) if (key.slice(key.indexOf("|") + 1) === metric) return true;
    return false;
  }

  histogram(variant: string, metric: string, day: number): Histogram {
    const id = `${variant}|${metric}|${day}`;
    const built = this.histograms.get(id);
    if (built) return built;
    const histogram = new Map<number, SufficientStats>();
    for (const bucket of this.buckets.get(`${variant}|${metric}`) ?? []) {
      const sums = this.at(variant, `${metric}${BUCKET_SEPARATOR}${bucket}`, day);
      if (sums.n > 0) histogram.set(bucket, fromExactSums(sums.n, sums.sum, sums.sumSquares, VALUE_SCALE));
    }
    this.histograms.set(id, histogram);
    return histogram;
  }
}
