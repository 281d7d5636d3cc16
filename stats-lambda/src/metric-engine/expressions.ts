/**
 * Scalar SQL expressions the metric query repeats, the same in both dialects, each the SQL
 * twin of a TypeScript rule (named beside it) so the two paths give the same numbers.
 */
import { USER_VALUE_LIMIT, VALUE_SCALE } from "../../../shared/metric-values.js";

export const DAY_MS = 86_400_000;
/** A scaled unit value's bound (shared/metric-values.ts USER_VALUE_LIMIT × VALUE_SCALE). */
export const VALUE_LIMIT = USER_VALUE_LIMIT * VALUE_SCALE;

/** The UTC day number of an epoch-ms expression. */
export const dayOf = (ms: string) => `CAST(floor(${ms} / ${DAY_MS}.0) AS BIGINT)`;

/** Exact arithmetic for sums of squares: 38 digits hold Σx² up to 10⁷ units at the largest value. */
export const dec = (x: string) => `CAST(${x} AS DECIMAL(38,0))`;

/** `x` clamped to ±`limit`, as a BIGINT. */
export const clamp = (x: string, limit: number) => `CAST(greatest(-${limit}, least(${limit}, ${x})) AS BIGINT)`;

/** JavaScript's Math.round (halves up, also below zero) of a DOUBLE, as a BIGINT. */
export const jsRound = (x: string) => `CAST(floor(${x} + 0.5) AS BIGINT)`;

/**
 * A property's text as a scaled metric value, NULL when it is none: shared/metric-values.ts
 * `scaledMetricValue` (a finite number or numeric string, |x| ≤ 1e9, kept to 4 decimals).
 * Only decimal notation is a value: DuckDB also casts `1_000` (digit separators), which
 * JavaScript and Trino do not, so a `_` is made a letter first; the casts refuse JavaScript's `0x1F`.
 */
export function scaledValue(text: string): string {
  const number = `TRY_CAST(trim(replace(${text}, '_', 'x')) AS DOUBLE)`;
  return `CASE WHEN abs(${number}) <= 1e9 THEN ${jsRound(`${number} * ${VALUE_SCALE}`)} END`;
}

/**
 * shared/stats/winsorize.ts `histogramBucket` of a non-zero BIGINT expression:
 * ±(⌊log₂|x|⌋ + 1), the exponent corrected where log₂ rounds near a power of two.
 */
export function histogramBucketSql(x: string): string {
  const exponent = `floor(log2(abs(${x})))`;
  const fix = `CASE WHEN power(2, ${exponent}) > abs(${x}) THEN -1 WHEN power(2, ${exponent} + 1) <= abs(${x}) THEN 1 ELSE 0 END`;
  return `CAST(sign(${x}) * (${exponent} + 1 + ${fix}) AS BIGINT)`;
}

/**
 * When a row counts, for the unit state (unit-state.ts, compile.ts `deferred`): `cut`, the
 * time from which it does (the row counts once the data's horizon reaches it: a closed
 * window's end, an unattributed event's bound), and `gate`, the name of a condition on the
 * whole report it needs (strata.ts `EPOCHS_GATE`). Both NULL: the row always counts.
 */
export interface RowVisibility {
  cut?: string;
  gate?: string;
}

/**
 * A series row's columns, typed alike in every branch of the union; `cut_ms` and `gate` say
 * when it counts (`RowVisibility`; only the unit state's query sets them, the scan reads neither).
 */
export const seriesRow = (
  day: string,
  variant: string,
  metric: string,
  n: string,
  s: string,
  q: string,
  { cut = "NULL", gate = "NULL" }: RowVisibility = {},
) =>
  `SELECT ${day} AS day_no, ${variant} AS variant, CAST(${metric} AS VARCHAR) AS metric, CAST(${n} AS BIGINT) AS n, ${dec(s)} AS s, ${dec(q)} AS q, ` +
  `CAST(${cut} AS BIGINT) AS cut_ms, CAST(${gate} AS VARCHAR) AS gate`;

/** A row's cut (`RowVisibility`), none when a horizon it is known to be read at reaches it (compile.ts `settledAt`). */
export const cutBy = (cut: string, settledAt: bigint | undefined) =>
  settledAt === undefined ? cut : `CASE WHEN ${cut} <= ${String(settledAt)} THEN NULL ELSE ${cut} END`;
