/**
 * Daily aggregate rows built the way ingest builds them (applyEvent's deltas, exact and
 * scaled), without DynamoDB: what report tests and simulations feed buildReport. And the
 * seeded random draws the simulations use, so every run sees the same experiments.
 */
import type { Flag, LegacyMetric, Metric } from "../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../shared/metric-values.js";
import { applyEvent, EMPTY_STATE, type ExactDelta, type UnitMetricState } from "../../stats-lambda/src/metrics.js";
import { ALLOCATION_PREFIX, EXPOSURES, type AggregateRow } from "../../stats-lambda/src/store.js";
import { seeded } from "../../shared/stats/seeded.test-support.js";
import { buildReport } from "../../stats-lambda/src/report/index.js";
import { runningExperiment } from "./control-plane-records.js";

export const dayName = (day: number) => new Date(Date.UTC(2026, 0, 1 + day)).toISOString().slice(0, 10);

export class SimulatedRows {
  private readonly rows = new Map<string, AggregateRow>();

  private add(day: number, variant: string, series: string, delta: ExactDelta): void {
    const key = `${day}|${variant}|${series}`;
    const row = this.rows.get(key);
    if (row) {
      row.n += delta.n;
      row.sum += delta.sum;
      row.sumSquares += delta.sumSquares;
    } else
      this.rows.set(key, {
        day: dayName(day),
        variant,
        metric: series,
        n: delta.n,
        sum: delta.sum,
        sumSquares: delta.sumSquares,
      });
  }

  /** `count` units exposed to `variant` on `day` (under `allocation` when given). */
  expose(day: number, variant: string, count = 1, allocation?: string): this {
    const delta = { n: count, sum: 0n, sumSquares: 0n };
    this.add(day, variant, EXPOSURES, delta);
    if (allocation) this.add(day, variant, `${ALLOCATION_PREFIX}${allocation}`, delta);
    return this;
  }

  /** A unit's one event on `day`: `value` is the property's value (or 1 for conversions and counts). */
  event(day: number, variant: string, metric: Metric, value = 1): this {
    const change = applyEvent(metric as LegacyMetric, EMPTY_STATE, Math.round(value * VALUE_SCALE));
    for (const [series, delta] of change?.deltas ?? []) this.add(day, variant, series, delta);
    return this;
  }

  /** One more event of a unit whose state is `state` (its earlier events): returns its new state. */
  unitEvent(day: number, variant: string, metric: Metric, state: UnitMetricState, value = 1): UnitMetricState {
    const change = applyEvent(metric as LegacyMetric, state, Math.round(value * VALUE_SCALE));
    for (const [series, delta] of change?.deltas ?? []) this.add(day, variant, series, delta);
    return change?.state ?? state;
  }

  /** `count` units in a series that counts units (`$closed:<hours>`, per epoch too) on `day`. */
  units(day: number, variant: string, series: string, count: number): this {
    this.add(day, variant, series, { n: count, sum: 0n, sumSquares: 0n });
    return this;
  }

  /** Conversions without going unit by unit: `count` units converted on `day`. */
  conversions(day: number, variant: string, metric: Metric, count: number): this {
    const scale = BigInt(VALUE_SCALE);
    this.add(day, variant, metric.key, { n: 0, sum: BigInt(count) * scale, sumSquares: BigInt(count) * scale * scale });
    return this;
  }

  list(): AggregateRow[] {
    return [...this.rows.values()];
  }
}

export const conversion: Metric = { key: "conversion", type: "unique_conversions", eventType: "purchase" };
export const revenue: Metric = { key: "revenue", type: "property_sum", eventType: "purchase", property: "amount" };

/** A running two-arm experiment on `primary`, with the weights given. */
export function experimentOn(primary: Metric, weights: [number, number] = [50, 50], extra: Partial<Flag> = {}): Flag {
  return runningExperiment("sim", {
    primaryMetric: primary,
    secondaryMetrics: [],
    guardrailMetrics: [],
    weights: { control: weights[0], treatment: weights[1] },
    ...extra,
  });
}

/** mulberry32: a small seeded uniform generator (shared/stats' seeded draws). */
export const uniforms = (seed: number): (() => number) => seeded(seed).uniform;

/** Standard normal draws (Box–Muller) from a seeded uniform generator. */
export function normals(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

export interface Cohorts {
  /** The experiment's primary metric: its comparison is the one counted. */
  metric: Metric;
  experiments: number;
  /** Daily looks, and as many daily cohorts per arm. */
  days: number;
  /** Units exposed per arm a day. */
  perDay: number;
  /** The treatment's multiplier on the control's rate at age a days since exposure: 1 + constant + novelty·e^(−a/2). */
  novelty: number;
  constant?: number;
}

/**
 * The novelty simulations' driver: per experiment, for each arm and each day's cohort of
 * `perDay` exposed units, `cohort` draws that cohort's events from its first day on, given
 * `lift(day)`, the arm's multiplier on that day (1 in control). Returns the shares of
 * experiments whose primary comparison is flagged `effect_not_stable` and `significant_positive`.
 */
export function cohortSimulation(
  options: Cohorts,
  cohort: (rows: SimulatedRows, variant: "control" | "treatment", first: number, lift: (day: number) => number) => void,
): { flagged: number; significant: number } {
  const { metric, experiments, days, perDay, novelty, constant = 0 } = options;
  const flag = experimentOn(metric, [50, 50]);
  let [flagged, significant] = [0, 0];
  for (let e = 0; e < experiments; e++) {
    const rows = new SimulatedRows();
    for (const variant of ["control", "treatment"] as const) {
      for (let first = 0; first < days; first++) {
        rows.expose(first, variant, perDay);
        const lift = (day: number) =>
          variant === "treatment" ? 1 + constant + novelty * Math.exp(-(day - first) / 2) : 1;
        cohort(rows, variant, first, lift);
      }
    }
    const quality = { rejectedExposures: 0, droppedValues: {} };
    const comparison = buildReport(flag, rows.list(), quality, Date.now()).metrics[0]!.variants[1]!.comparison!;
    if (comparison.warnings.includes("effect_not_stable")) flagged++;
    if (comparison.verdict === "significant_positive") significant++;
  }
  return { flagged: flagged / experiments, significant: significant / experiments };
}

/** Seeded binomial draws: by inversion when small, else the normal approximation. */
export function binomials(seed: number): (n: number, p: number) => number {
  const uniform = uniforms(seed);
  const normal = normals(uniform);
  return (n, p) => {
    if (n <= 0 || p <= 0) return 0;
    if (n * p * (1 - p) > 30)
      return Math.max(0, Math.min(n, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal())));
    let u = uniform();
    let k = 0;
    let pmf = (1 - p) ** n;
    while (u > pmf && k < n) {
      u -= pmf;
      pmf *= ((n - k) / (k + 1)) * (p / (1 - p));
      k++;
    }
    return k;
  };
}
