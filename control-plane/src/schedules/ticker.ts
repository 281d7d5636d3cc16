/**
 * The local watcher: every `everyMs`, run the due schedules, advance and guard rollout
 * plans, read running experiments' reports, and deliver what webhooks are owed (retries
 * included). The state is all in DynamoDB, so a restart loses nothing: the
 * next start's first tick picks up whatever came due meanwhile. Ticks never overlap.
 */
import type { Dispatcher } from "../notifications/dispatcher.js";
import type { RolloutService } from "../rollouts/plans.js";
import type { ScheduleService } from "./schedules.js";

export interface Ticker {
  /** One tick now (tests; the timer calls the same). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startTicker(
  work: {
    schedules: ScheduleService;
    dispatcher: Dispatcher;
    listProjects: () => Promise<Array<{ key: string }>>;
    /** Rollout plans to advance and guard (absent: none). */
    rollouts?: Pick<RolloutService, "watchAll"> | undefined;
    /** Running experiments to read for significance, SRM and harm (absent: none). */
    experiments?: { watchAll(): Promise<unknown> } | undefined;
  },
  everyMs: number,
): Ticker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  async function once(): Promise<void> {
    await work.schedules.runDue();
    await work.rollouts?.watchAll();
    await work.experiments?.watchAll();
    await Promise.all((await work.listProjects()).map((p) => work.dispatcher.dispatch(p.key)));
  }

  const tick = () => {
    current = current.then(once).catch((error: unknown) => console.error("Release watcher tick failed", error));
    return current;
  };

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick().then(loop), everyMs);
    timer.unref();
  };
  void tick().then(loop);

  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
      await work.dispatcher.idle();
    },
  };
}
