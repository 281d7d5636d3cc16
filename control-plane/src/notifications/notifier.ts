/**
 * Notifications, wired: the event log, the webhooks and their dispatcher. `emit` logs an
 * event (one DynamoDB write, in the request) and, when `deliverNow`, starts delivering in
 * the background: an edit never waits for a receiver, however slow.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import type { Db } from "../../../shared/node/dynamo.js";
import { flagDiff } from "../commit/history.js";
import { createDispatcher, type DispatcherOptions } from "./dispatcher.js";
import { createEventLog, type EventInput } from "./events.js";
import { createWebhookStore } from "./webhooks.js";

export interface NotifierOptions extends Pick<DispatcherOptions, "retryDelaysMs" | "timeoutMs" | "gapWaitMs"> {
  db: Db;
  now?: () => number;
  /** Deliver right after an event (local runs); else only when `dispatch` is called (the cloud's watcher). */
  deliverNow: boolean;
}

export function createNotifier({ db, now = Date.now, deliverNow, ...delivery }: NotifierOptions) {
  const events = createEventLog(db, now);
  const webhooks = createWebhookStore(db, events, now);
  const dispatcher = createDispatcher({ events, webhooks, now, ...delivery });

  async function emit(project: string, event: EventInput): Promise<void> {
    await events.emit(project, event);
    if (deliverNow) void dispatcher.dispatch(project);
  }

  return {
    events,
    webhooks,
    dispatcher,
    emit,
    /** The flag service's hook: who changed what, with the diff. */
    async flagChanged(project: string, flag: Flag, previous: Flag | undefined): Promise<void> {
      try {
        await emit(project, {
          id: `flag-${flag.key}-v${flag.version}`,
          type: "flag.changed",
          at: flag.lastChange.at,
          data: {
            flag: flag.key,
            version: flag.version,
            action: flag.lastChange.action,
            actor: flag.lastChange.actor,
            status: flag.status,
            diff: flagDiff(previous, flag),
          },
        });
      } catch (error) {
        // The change is committed; a notification lost to an outage must not turn it into an error.
        console.error(`Notification of ${flag.key} v${flag.version} failed`, error);
      }
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
