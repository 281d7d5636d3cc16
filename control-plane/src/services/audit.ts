/**
 * The project-wide audit log: every version of every flag and catalog metric of a project, newest
 * first, filtered by who, what, which action and when, and searched as text (docs/console.md "Audit
 * log"). Read from the per-resource histories the writes already keep, so it adds no write and
 * cannot drift from them; a deleted flag's history stays stored but no longer listed, so it is not here.
 */
import type { HistoryEntry } from "../db/records.js";
import type { MetricHistoryEntry } from "../db/records.js";

export type AuditResource = "flag" | "metric";

/** One change as the audit log shows it: the resource, the version it made, who, when, how, the diff. */
export interface AuditEntry {
  resource: AuditResource;
  key: string;
  name: string;
  version: number;
  action: string;
  actor: string;
  at: string;
  diff: HistoryEntry["diff"];
}

export interface AuditFilter {
  actor?: string | undefined;
  /** A flag's or metric's key. */
  key?: string | undefined;
  resource?: AuditResource | undefined;
  action?: string | undefined;
  /** ISO date or time; a date alone means from that day's start (UTC). */
  from?: string | undefined;
  /** ISO date or time; a date alone includes that whole day (UTC). */
  to?: string | undefined;
  /** Text in the key, name, actor, action, or a changed field's name or value (case-insensitive). */
  q?: string | undefined;
  limit?: number | undefined;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Matches before the limit. */
  total: number;
  /** What the filters can choose from, over the whole log (not only the matches). */
  actors: string[];
  actions: string[];
  keys: string[];
}

export const DEFAULT_AUDIT_LIMIT = 100;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The first instant after the bound (for `to`) or the bound itself (for `from`), as an ISO string. */
export function boundInstant(value: string, side: "from" | "to"): string {
  if (DATE_ONLY.test(value)) {
    const start = new Date(`${value}T00:00:00.000Z`);
    return side === "from" ? start.toISOString() : new Date(start.getTime() + 86_400_000).toISOString();
  }
  const instant = new Date(value);
  return side === "from" ? instant.toISOString() : new Date(instant.getTime() + 1).toISOString();
}

export const isValidBound = (value: string): boolean =>
  !Number.isNaN(new Date(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value).getTime());

export const fromFlagHistory = (entry: HistoryEntry): AuditEntry => ({
  resource: "flag",
  key: entry.flag.key,
  name: entry.flag.name,
  version: entry.version,
  action: entry.action,
  actor: entry.actor,
  at: entry.at,
  diff: entry.diff,
});

export const fromMetricHistory = (entry: MetricHistoryEntry): AuditEntry => ({
  resource: "metric",
  key: entry.metric.key,
  name: entry.metric.name ?? entry.metric.key,
  version: entry.version,
  action: entry.action,
  actor: entry.actor,
  at: entry.at,
  diff: entry.diff,
});

/** The text a search looks in: what the row shows, and each change's field path and values. */
function searchable(entry: AuditEntry): string {
  const changes = entry.diff.map((change) =>
    [change.path.join("."), JSON.stringify(change.value ?? null), JSON.stringify(change.oldValue ?? null)].join(" "),
  );
  return [entry.key, entry.name, entry.actor, entry.action, ...changes].join("\n").toLowerCase();
}

const sortedUnique = (values: string[]) => [...new Set(values)].sort((a, b) => a.localeCompare(b));

/** Filters and orders `all` (newest first; ties by resource key, then version down) and cuts it to the limit. */
export function auditPage(all: AuditEntry[], filter: AuditFilter = {}): AuditPage {
  const from = filter.from ? boundInstant(filter.from, "from") : undefined;
  const to = filter.to ? boundInstant(filter.to, "to") : undefined;
  const actor = filter.actor?.toLowerCase();
  const text = filter.q?.trim().toLowerCase();
  const matches = all
    .filter(
      (e) =>
        (!actor || e.actor.toLowerCase() === actor) &&
        (!filter.key || e.key === filter.key) &&
        (!filter.resource || e.resource === filter.resource) &&
        (!filter.action || e.action === filter.action) &&
        (!from || e.at >= from) &&
        (!to || e.at < to),
    )
    .filter((e) => !text || searchable(e).includes(text))
    .sort((a, b) => b.at.localeCompare(a.at) || a.key.localeCompare(b.key) || b.version - a.version);
  return {
    entries: matches.slice(0, filter.limit ?? DEFAULT_AUDIT_LIMIT),
    total: matches.length,
    actors: sortedUnique(all.map((e) => e.actor)),
    actions: sortedUnique(all.map((e) => e.action)),
    keys: sortedUnique(all.map((e) => e.key)),
  };
}

/** What the service reads: the store's listings of flags, metrics and their histories. */
export interface AuditSource {
  listFlags(project: string): Promise<Array<{ key: string }>>;
  listHistory(project: string, flag: string): Promise<HistoryEntry[]>;
  listMetrics(project: string): Promise<Array<{ key: string }>>;
  listMetricHistory(project: string, metric: string): Promise<MetricHistoryEntry[]>;
}

export function createAuditService(source: AuditSource) {
  return {
    /** The project's log (the caller checks that the project exists). */
    async page(project: string, filter: AuditFilter): Promise<AuditPage> {
      const [flags, metrics] = await Promise.all([source.listFlags(project), source.listMetrics(project)]);
      const histories = await Promise.all([
        ...flags.map(async (f) => (await source.listHistory(project, f.key)).map(fromFlagHistory)),
        ...metrics.map(async (m) => (await source.listMetricHistory(project, m.key)).map(fromMetricHistory)),
      ]);
      return auditPage(histories.flat(), filter);
    },
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
