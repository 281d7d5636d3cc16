/**
 * The watcher's reading of running experiments: each tick it reads every running
 * experiment's report (the stats service's report API) and tells of each new state once:
 * the primary metric reached significance (either way) for a variant, a sample-ratio
 * mismatch, a guardrail's harm. What was told is stored per experiment and analysis period
 * (`PROJECT#<p>`, `WATCH#<flag>#<period>`), so a state is not told again on the next tick,
 * after a restart or by a second watcher: events are logged first (their ids are the
 * states', so the log keeps each once), then the state is stored.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import type { Db } from "../../../shared/node/dynamo.js";
import type { Report } from "../../../shared/report-schema.js";
import type { EventInput } from "../notifications/events.js";
import { readItem, writeItem } from "../notifications/items.js";

/** The report of a running experiment, or undefined when there is none yet. */
export type ReportSource = (project: string, flag: string) => Promise<Report | undefined>;

interface WatchState {
  told: string[];
}

export interface ExperimentWatchOptions {
  db: Db;
  listProjects: () => Promise<Array<{ key: string }>>;
  listFlags: (project: string) => Promise<Flag[]>;
  reports: ReportSource;
  notify: (project: string, event: EventInput) => Promise<void>;
  now?: () => number;
  /** Reports are read at most this often (a report is a query over the event store): 60 s when absent. */
  everyMs?: number;
}

/** The states a report is in, each with the event that tells of it. */
export function reportStates(flag: string, report: Report): Array<{ state: string; event: EventInput }> {
  const period = report.analysisPeriod.index;
  const states: Array<{ state: string; event: EventInput }> = [];
  const add = (state: string, type: EventInput["type"], data: Record<string, unknown>) =>
    states.push({
      state,
      event: { id: `experiment-${flag}-p${period}-${state}`, type, data: { flag, period, ...data } },
    });
  if (report.srm.mismatch) add("srm", "experiment.srm", { pValue: report.srm.pValue });
  for (const metric of report.metrics) {
    for (const variant of metric.variants) {
      const comparison = variant.comparison;
      if (!comparison) continue;
      const data = {
        metric: metric.key,
        variant: variant.variant,
        verdict: comparison.verdict,
        lift: comparison.lift,
        difference: comparison.difference,
        ci: comparison.ci,
        relativeCi: comparison.relativeCi,
        pValue: comparison.pValue,
        trustworthy: comparison.trustworthy,
      };
      const significant =
        comparison.verdict === "significant_positive" || comparison.verdict === "significant_negative";
      if (metric.role === "primary" && significant)
        add(`significant-${metric.key}-${variant.variant}`, "experiment.significant", data);
      if (metric.role === "guardrail" && comparison.verdict === "harm_detected")
        add(`harm-${metric.key}-${variant.variant}`, "experiment.guardrail_harm", data);
    }
  }
  return states;
}

export function createExperimentWatch({
  db,
  listProjects,
  listFlags,
  reports,
  notify,
  now = Date.now,
  everyMs = 60_000,
}: ExperimentWatchOptions) {
  let lastAt = -Infinity;

  async function watch(project: string, flag: Flag): Promise<number> {
    const report = await reports(project, flag.key);
    if (!report) return 0;
    const key = { pk: `PROJECT#${project}`, sk: `WATCH#${flag.key}#${report.analysisPeriod.index}` };
    const stored = await readItem<WatchState>(db, key);
    const told = new Set(stored?.record.told ?? []);
    const fresh = reportStates(flag.key, report).filter((s) => !told.has(s.state));
    if (fresh.length === 0) return 0;
    for (const { event } of fresh) await notify(project, event);
    // A lost race only means another watcher stored the same states: the events are logged once either way.
    await writeItem(db, key, { told: [...told, ...fresh.map((s) => s.state)] }, stored?.rev);
    return fresh.length;
  }

  return {
    /** Reads every running experiment; returns how many new states were told. */
    async watchAll(): Promise<number> {
      if (now() - lastAt < everyMs) return 0;
      lastAt = now();
      let told = 0;
      for (const project of await listProjects()) {
        const running = (await listFlags(project.key)).filter((f) => f.type === "experiment" && f.status === "running");
        for (const flag of running) {
          try {
            told += await watch(project.key, flag);
          } catch (error) {
            console.error(`Watching experiment ${flag.key} failed; tried again on the next tick`, error);
          }
        }
      }
      return told;
    },
  };
}

export type ExperimentWatch = ReturnType<typeof createExperimentWatch>;

/** Reads reports from the stats service's report API with a viewer token. */
export function httpReportSource(statsUrl: string, token: string, timeoutMs = 10_000): ReportSource {
  return async (project, flag) => {
    const response = await fetch(`${statsUrl}/projects/${project}/experiments/${flag}/report`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`The stats service answered ${response.status} for ${project}/${flag}`);
    return (await response.json()) as Report;
  };
}
