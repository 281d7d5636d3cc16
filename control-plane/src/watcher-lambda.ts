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
import { httpGuardrailSource } from "./rollouts/guardrail-source.js";
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

const statsUrl = process.env["STATS_API_URL"];
const listProjects = () => store.listProjects();

/** Rollout plans, with the stats service's guardrail statistics when there is one (read with `token`). */
const rolloutsWith = (token: string | undefined) =>
  createRolloutService({
    db,
    flags,
    listProjects,
    notify: notifier.emit,
    ...(statsUrl && token ? { guardrails: httpGuardrailSource(statsUrl, token) } : {}),
  });

/** Plans and running experiments, both read through the stats API with one token made for the invocation. */
async function watchReleases(): Promise<{ plans: number; told: number }> {
  if (!statsUrl) return { plans: await rolloutsWith(undefined).watchAll(), told: 0 };
  const token = await createWatcherToken(store);
  try {
    const plans = await rolloutsWith(token.token).watchAll();
    const experiments = createExperimentWatch({
      db,
      listProjects,
      listFlags: (project) => flags.list(project),
      reports: httpReportSource(statsUrl, token.token),
      notify: notifier.emit,
      everyMs: 0,
    });
    return { plans, told: await experiments.watchAll() };
  } finally {
    await store.deleteToken(token.hash);
  }
}

export async function handler(): Promise<{ schedulesRun: number; plans: number; told: number; projects: number }> {
  const schedulesRun = await schedules.runDue();
  const { plans, told } = await watchReleases();
  const projects = await store.listProjects();
  await Promise.all(projects.map((p) => notifier.dispatcher.dispatch(p.key)));
  return { schedulesRun, plans, told, projects: projects.length };
}
