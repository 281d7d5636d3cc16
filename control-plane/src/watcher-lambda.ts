/**
 * The release watcher on AWS Lambda, invoked every minute by an EventBridge rule: runs
 * the schedules that came due and delivers what each webhook is owed (retries included).
 * Its changes are plain flag writes, which the replicator publishes from the table's
 * stream like any other, so it needs the table and nothing else (no KV, no secrets).
 * Two invocations at once (a slow minute) are safe: schedules and webhook cursors are
 * claimed with conditional writes.
 */
import { createNotifier } from "./notifications/notifier.js";
import { cloudDb, cloudStoreOf } from "./cloud-config.js";
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

export async function handler(): Promise<{ schedulesRun: number; projects: number }> {
  const schedulesRun = await schedules.runDue();
  const projects = await store.listProjects();
  await Promise.all(projects.map((p) => notifier.dispatcher.dispatch(p.key)));
  return { schedulesRun, projects: projects.length };
}
