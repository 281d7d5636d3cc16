/**
 * The numeric policy for metric events, shared by the edge (`POST /track`) and the stats
 * service, so that no value can poison a sum, a report or a delivery:
 *
 * - event `time`: epoch milliseconds. `/track` accepts 30 days back to 1 hour ahead of
 *   its clock (400 naming the event otherwise); ingest drops, counts and logs a time
 *   past 1 day ahead of its clock or before 2015 (a queue may redeliver old events).
 * - numbers in `event_properties`: `/track` refuses a magnitude above 1e15 (not exactly
 *   representable in JSON numbers anyway). A metric value (the property a sum or average
 *   metric reads) must be a finite number or numeric string with |x| ≤ 1e9; others are
 *   dropped at ingest, counted and logged by reason. Values are kept to 4 decimal places
 *   as exact integers (x × 10⁴), so DynamoDB's exact `ADD` sums them with no rounding
 *   drift, and Σx² stays within its 38 digits up to 10⁷ users at the largest value.
 * - a user's value of a metric (a sum over their events) is capped at ±9 × 10¹¹, which
 *   keeps it an exact integer in a JS number once scaled.
 */
export const METRIC_VALUE_LIMIT = 1e9;
export const PROPERTY_NUMBER_LIMIT = 1e15;
export const VALUE_SCALE = 10_000;
export const USER_VALUE_LIMIT = 9e11;

const DAY = 86_400_000;
export const TRACK_TIME_WINDOW = { pastMs: 30 * DAY, futureMs: 3_600_000 };
const INGEST_EARLIEST = Date.UTC(2015, 0, 1);
const INGEST_FUTURE_MS = DAY;

export type DropReason = "not_a_number" | "value_out_of_range" | "time_out_of_range";

/**
 * A numeric string is decimal notation, what JavaScript, DuckDB and Trino all read alike:
 * not `0x1F`, `0b11`, `0o7` (JavaScript radixes), `1_000` (DuckDB digit separators) nor `Infinity`.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A metric value scaled to an exact integer, or why it is not one (`absent`: the event has no such property). */
export function scaledMetricValue(raw: unknown): { scaled: number } | { dropped: DropReason } | { absent: true } {
  if (raw === undefined || raw === null) return { absent: true };
  const value = typeof raw === "number" ? raw : typeof raw === "string" && DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isFinite(value)) return { dropped: "not_a_number" };
  if (Math.abs(value) > METRIC_VALUE_LIMIT) return { dropped: "value_out_of_range" };
  return { scaled: Math.round(value * VALUE_SCALE) };
}

/** Whether ingest accepts an event time (it may arrive late through retries, never from the future). */
export const ingestTimeOk = (time: number, now: number): boolean =>
  Number.isSafeInteger(time) && time >= INGEST_EARLIEST && time <= now + INGEST_FUTURE_MS;

/** Why `/track` refuses an event's time, if it does. */
export function trackTimeProblem(time: number, now: number): string | undefined {
  if (time < now - TRACK_TIME_WINDOW.pastMs) return "time is more than 30 days in the past";
  if (time > now + TRACK_TIME_WINDOW.futureMs) return "time is more than 1 hour in the future";
  return undefined;
}

/** The path of the first number in `properties` (nested included) beyond the limit, if any. */
export function oversizedNumber(properties: unknown, path: string[] = []): string[] | undefined {
  if (typeof properties === "number") return Math.abs(properties) > PROPERTY_NUMBER_LIMIT ? path : undefined;
  if (properties === null || typeof properties !== "object") return undefined;
  for (const [key, value] of Object.entries(properties)) {
    const found = oversizedNumber(value, [...path, key]);
    if (found) return found;
  }
  return undefined;
}
