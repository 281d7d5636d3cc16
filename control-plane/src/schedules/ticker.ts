/**
 * The local watcher: every `everyMs`, run the due schedules and deliver what webhooks are
 * owed (retries included). The state is all in DynamoDB, so a restart loses nothing: the
 * next start's first tick picks up whatever came due meanwhile. Ticks never overlap.
 */
import type { Dispatcher } from "../notifications/dispatcher.js";
import type { ScheduleService } from "./schedules.js";

export interface Ticker {
  /** One tick now (tests; the timer calls the same). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startTicker(
  work: { schedules: ScheduleService; dispatcher: Dispatcher; listProjects: () => Promise<Array<{ key: string }>> },
  everyMs: number,
): Ticker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  async function once(): Promise<void> {
    await work.schedules.runDue();
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
