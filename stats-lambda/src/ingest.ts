/**
 * Ingest of queue deliveries (at-least-once): exposures first, then events.
 *
 * - An exposure of a running experiment creates the user's record (variant, first
 *   exposure) with a conditional put: a repeat changes nothing; a user seen in another
 *   variant stays in the first and is counted once as a data-quality issue.
 * - An event counts for each running experiment with a metric on its type, only after
 *   the user's first exposure. The user's metric states and the event's id (its
 *   `insert_id`, else the queue message id and position, both stable across
 *   redeliveries) are saved in one conditional write on the user's record, so a
 *   redelivered batch or a repeated insert_id changes nothing; then the change to the
 *   variant's statistics is added to that day's sharded aggregate.
 */
import { queueMessageSchema, unpack, type EventMessage, type ExposureMessage } from "../../shared/events.js";
import { metricsOf, type Catalog } from "./catalog.js";
import { applyEvent, EMPTY_STATE, propertyValue } from "./metrics.js";
import { dayOf, EXPOSURES, type StatsStore } from "./store.js";

export interface DeliveredMessage {
  id: string;
  body: unknown;
}

export interface IngestResult {
  exposures: number;
  events: number;
  duplicates: number;
  rejected: number;
}

const MAX_ATTEMPTS = 8; // concurrent writers to one user retry this often

export async function ingest(messages: DeliveredMessage[], stats: StatsStore, catalog: Catalog, log: (message: string) => void = console.warn): Promise<IngestResult> {
  const result: IngestResult = { exposures: 0, events: 0, duplicates: 0, rejected: 0 };
  const exposureMessages: ExposureMessage[] = [];
  const eventMessages: Array<{ id: string; message: EventMessage }> = [];
  for (const { id, body } of messages) {
    const parsed = queueMessageSchema.safeParse(body);
    if (!parsed.success) {
      result.rejected++; // a message that can never be processed must not block the queue
      log(`Rejected message ${id}: ${parsed.error.issues[0]?.message}`);
      continue;
    }
    // A batch's parts get ids derived from the queue message's, stable across redeliveries.
    unpack(parsed.data).forEach((message, part) => {
      const partId = parsed.data.type === "batch" ? `${id}#${part}` : id;
      if (!message.project) {
        result.rejected++;
        log(`Rejected message ${partId}: no project`);
      } else if (message.type === "exposures") exposureMessages.push(message);
      else eventMessages.push({ id: partId, message });
    });
  }

  for (const message of exposureMessages) {
    const user = message.userId ?? message.deviceId;
    if (!user) continue;
    for (const exposure of message.exposures) {
      const flag = await catalog.runningExperiment(message.project!, exposure.flagKey);
      if (!flag || !exposure.variant || !flag.variants.some((v) => v.key === exposure.variant)) continue;
      if (await stats.addUser(message.project!, flag.key, user, exposure.variant, message.time)) {
        await stats.addToAggregate(message.project!, flag.key, dayOf(message.time), exposure.variant, EXPOSURES, user, { n: 1, sum: 0, sumSquares: 0 });
        result.exposures++;
      } else {
        const existing = await stats.getUser(message.project!, flag.key, user);
        if (existing && existing.variant !== exposure.variant) await stats.markMultipleVariants(message.project!, flag.key, user);
        else result.duplicates++;
      }
    }
  }

  for (const { id, message } of eventMessages) {
    const running = await catalog.running(message.project!);
    for (const [index, event] of message.events.entries()) {
      const user = event.user_id ?? event.device_id;
      if (!user) continue;
      const eventId = event.insert_id ?? `${id}:${index}`;
      for (const flag of running.values()) {
        const metrics = metricsOf(flag).filter((m) => m.eventType === event.event_type);
        if (metrics.length === 0) continue;
        const outcome = await applyToUser(stats, message.project!, flag.key, user, eventId, event.time, event.event_properties, metrics);
        if (outcome === "applied") result.events++;
        if (outcome === "duplicate") result.duplicates++;
      }
    }
  }
  return result;
}

async function applyToUser(
  stats: StatsStore,
  project: string,
  flag: string,
  user: string,
  eventId: string,
  time: number,
  properties: Record<string, unknown> | undefined,
  metrics: ReturnType<typeof metricsOf>,
): Promise<"applied" | "duplicate" | "skipped"> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const record = await stats.getUser(project, flag, user);
    if (!record || time < record.firstExposure) return "skipped"; // only events after the first exposure count
    if (record.applied.includes(eventId)) return "duplicate";
    const next = { ...record.metrics };
    const deltas: Array<[string, { n: number; sum: number; sumSquares: number }]> = [];
    for (const metric of metrics) {
      const amount = propertyValue(metric, properties);
      if (amount === undefined) continue;
      const change = applyEvent(metric, next[metric.key] ?? EMPTY_STATE, amount);
      if (!change) continue;
      next[metric.key] = change.state;
      deltas.push([metric.key, change.delta]);
    }
    if (deltas.length === 0) return "skipped";
    if (!(await stats.updateUserMetrics(project, flag, user, record, next, eventId))) continue; // changed meanwhile: re-read
    for (const [metric, delta] of deltas) await stats.addToAggregate(project, flag, dayOf(time), record.variant, metric, user, delta);
    return "applied";
  }
  throw new Error(`Too much contention on user ${user} of ${project}/${flag}`);
}
