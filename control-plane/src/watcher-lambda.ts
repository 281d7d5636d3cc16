/**
 * The release watcher on AWS Lambda, invoked every minute by an EventBridge rule: runs
 * the schedules that came due, advances rollout plans, reads running experiments' reports
 * (significance, SRM, guardrail harm; through the stats API with a viewer token made for
 * the invocation) and delivers what each webhook is owed (retries included).
 * Its changes are plain flag writes, which the replicator publishes from the table's
 * stream like any other, so it needs the table and nothing else (no KV, no secrets).
 * Two invocations at once (a slow minute) are safe: schedules and webhook cursors are
 * claimed with conditional writes.
 */
import { createNotifier } from "./notifications/notifier.js";
import { cloudDb, cloudStoreOf } from "./cloud-config.js";
import { createExperimentWatch, httpReportSource } from "./rollouts/experiment-watch.js";
import { createRolloutService } from "./rollouts/plans.js";
import { createWatcherToken } from "./rollouts/watcher-token.js";
import { createScheduleService } from "./schedules/schedules.js";
import { createFlagService } from "./services/flags.js";
import { createMetricService } from "./services/metrics.js";

const db = cloudDb();
const store = cloudStoreOf(db);
const notifier = createNotifier({ db, deliverNow: false });
const flags = createFlagService({
  store,
  onChange: async () => undefined, // the replicator publishes from the stream
  metrics: createMetricService({ store }),
  onCommitted: notifier.flagChanged,
});
const schedules = createScheduleService({ db, flags, listProjects: () => store.listProjects(), notify: notifier.emit });

// No guardrail source in the cloud yet: plans advance on time alone there (docs/releases.md).
const rollouts = createRolloutService({ db, flags, listProjects: () => store.listProjects(), notify: notifier.emit });
const statsUrl = process.env["STATS_API_URL"];

async function watchExperiments(): Promise<number> {
  if (!statsUrl) return 0;
  const token = await createWatcherToken(store);
  try {
    const experiments = createExperimentWatch({
      db,
      listProjects: () => store.listProjects(),
      listFlags: (project) => flags.list(project),
      reports: httpReportSource(statsUrl, token.token),
      notify: notifier.emit,
      everyMs: 0,
    });
    return await experiments.watchAll();
  } finally {
    await store.deleteToken(token.hash);
  }
}

export async function handler(): Promise<{ schedulesRun: number; plans: number; told: number; projects: number }> {
  const schedulesRun = await schedules.runDue();
  const plans = await rollouts.watchAll();
  const told = await watchExperiments();
  const projects = await store.listProjects();
  await Promise.all(projects.map((p) => notifier.dispatcher.dispatch(p.key)));
  return { schedulesRun, plans, told, projects: projects.length };
}
