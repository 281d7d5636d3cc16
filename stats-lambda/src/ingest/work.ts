/**
 * A delivery turned into work (pure): its messages validated and unpacked, each exposure
 * and event routed to the running experiments it concerns, grouped by experiment and
 * unit, with what had to be dropped counted by reason. Nothing here reads or writes.
 */
import { isLegacyMetric, type Flag } from "../../../shared/authoring/schema.js";
import {
  groupName,
  queueMessageSchema,
  unpack,
  type EventMessage,
  type ExposureMessage,
} from "../../../shared/events.js";
import { ingestTimeOk, type DropReason } from "../../../shared/metric-values.js";
import { metricsOf } from "../catalog.js";
import { metricAmount } from "../metrics.js";
import { analysisKey } from "../store.js";
import type { EventIn, ExposureIn } from "./unit-update.js";

/** The metrics this per-unit ingest computes; the event-store engine computes the others (filters, windows, new types). */
const legacyMetricsOf = (flag: Flag) => metricsOf(flag).filter(isLegacyMetric);

export interface DeliveredMessage {
  id: string;
  body: unknown;
}

export interface UnitWork {
  unit: string;
  exposures: ExposureIn[];
  events: EventIn[];
}

export interface ExperimentWork {
  project: string;
  flag: Flag;
  /** Where its data lives: the flag key, suffixed from its second analysis period on. */
  key: string;
  units: Map<string, UnitWork>;
  rejectedExposures: number;
  dropped: Partial<Record<DropReason, number>>;
}

/**
 * Parsed messages of one project, each with its queue message's id (what is redelivered)
 * and its part's id (what its events' ids derive from: a batch's parts differ).
 */
export interface ProjectMessages {
  exposures: Array<{ queueId: string; partId: string; message: ExposureMessage }>;
  events: Array<{ queueId: string; partId: string; message: EventMessage }>;
}

/** Validates and unpacks a delivery's messages by project; `rejected` counts what can never be processed. */
export function parseDelivery(
  messages: readonly DeliveredMessage[],
  log: (message: string) => void,
): { byProject: Map<string, ProjectMessages>; rejected: number } {
  const byProject = new Map<string, ProjectMessages>();
  let rejected = 0;
  for (const { id, body } of messages) {
    const parsed = queueMessageSchema.safeParse(body);
    if (!parsed.success) {
      rejected++; // a message that can never be processed must not block the queue
      log(`Rejected message ${id}: ${parsed.error.issues[0]?.message}`);
      continue;
    }
    // A batch's parts get ids derived from the queue message's, stable across redeliveries.
    unpack(parsed.data).forEach((message, part) => {
      const partId = parsed.data.type === "batch" ? `${id}#${part}` : id;
      if (!message.project) {
        rejected++;
        log(`Rejected message ${partId}: no project`);
        return;
      }
      let project = byProject.get(message.project);
      if (!project) byProject.set(message.project, (project = { exposures: [], events: [] }));
      if (message.type === "exposures") project.exposures.push({ queueId: id, partId, message });
      else project.events.push({ queueId: id, partId, message });
    });
  }
  return { byProject, rejected };
}

/**
 * The unit an experiment is analysed by: its bucketing unit. A device-bucketed experiment
 * counts devices (one person on six devices is six units, each in one variant); a
 * group-bucketed one counts groups, found in the exposure's and the event's `groups`
 * (Amplitude's field: `{"company_id": "acme"}`); a user-bucketed one counts users, by
 * device where there is no user id (as bucketing falls back).
 */
export function unitOf(
  flag: Flag,
  userId: string | undefined,
  deviceId: string | undefined,
  groups: Record<string, unknown> | undefined,
): string | undefined {
  const { unit, groupType } = flag.bucketing;
  if (unit === "group") return groupType === undefined ? undefined : groupName(groups, groupType);
  return unit === "device_id" ? deviceId : (userId ?? deviceId);
}

/**
 * An event's identity for dedup: its `insert_id` within its user or device (as
 * Amplitude scopes it), else its queue message and position (stable across redeliveries).
 */
export const eventIdOf = (
  event: { user_id?: string | undefined; device_id?: string | undefined; insert_id?: string | undefined },
  message: string,
  index: number,
): string =>
  event.insert_id !== undefined
    ? `i|${event.user_id ?? ""}|${event.device_id ?? ""}|${event.insert_id}`
    : `m|${message}|${index}`;

/** When the experiment's current analysis period began (0 when it has no recorded period). */
const periodStart = (flag: Flag) => {
  const started = flag.analysisPeriods?.at(-1)?.startedAt;
  return started === undefined ? 0 : Date.parse(started);
};

/** Routes one project's messages to its running experiments. */
export function experimentWork(
  project: string,
  messages: ProjectMessages,
  running: ReadonlyMap<string, Flag>,
  now: number,
  log: (message: string) => void,
): ExperimentWork[] {
  const work = new Map<string, ExperimentWork>();
  const of = (flag: Flag) => {
    let found = work.get(flag.key);
    if (!found)
      work.set(
        flag.key,
        (found = { project, flag, key: analysisKey(flag), units: new Map(), rejectedExposures: 0, dropped: {} }),
      );
    return found;
  };
  const unitWork = (experiment: ExperimentWork, unit: string) => {
    let found = experiment.units.get(unit);
    if (!found) experiment.units.set(unit, (found = { unit, exposures: [], events: [] }));
    return found;
  };
  const drop = (experiment: ExperimentWork, reason: DropReason, what: string) => {
    experiment.dropped[reason] = (experiment.dropped[reason] ?? 0) + 1;
    log(`Dropped ${what} for ${project}/${experiment.flag.key}: ${reason}`);
  };

  for (const { queueId, message } of messages.exposures) {
    for (const exposure of message.exposures) {
      const flag = running.get(exposure.flagKey);
      if (!flag || !exposure.variant || !flag.variants.some((v) => v.key === exposure.variant)) continue;
      if (message.time < periodStart(flag)) continue; // served before this analysis period began (a queue's lag)
      if (exposure.untrusted) {
        of(flag).rejectedExposures++;
        continue;
      }
      const unit = unitOf(flag, message.userId, message.deviceId, message.groups);
      if (!unit) continue;
      if (!ingestTimeOk(message.time, now)) {
        drop(of(flag), "time_out_of_range", `exposure in message ${queueId}`);
        continue;
      }
      unitWork(of(flag), unit).exposures.push({
        variant: exposure.variant,
        allocation: exposure.allocation,
        time: message.time,
        message: queueId,
      });
    }
  }

  // Which metrics of which running experiment each event type feeds, computed once.
  const byEventType = new Map<string, Array<{ flag: Flag; metrics: ReturnType<typeof legacyMetricsOf> }>>();
  for (const flag of running.values()) {
    for (const metric of legacyMetricsOf(flag)) {
      const list = byEventType.get(metric.eventType) ?? [];
      const entry = list.find((e) => e.flag === flag);
      if (entry) entry.metrics.push(metric);
      else list.push({ flag, metrics: [metric] });
      byEventType.set(metric.eventType, list);
    }
  }
  for (const { queueId, partId, message } of messages.events) {
    message.events.forEach((event, index) => {
      const targets = byEventType.get(event.event_type);
      if (!targets) return;
      const eventId = eventIdOf(event, partId, index);
      for (const { flag, metrics } of targets) {
        const unit = unitOf(flag, event.user_id, event.device_id, event.groups);
        if (!unit) continue;
        if (!ingestTimeOk(event.time, now)) {
          drop(of(flag), "time_out_of_range", `event ${eventId}`);
          continue;
        }
        const amounts: EventIn["amounts"] = [];
        for (const metric of metrics) {
          const amount = metricAmount(metric, event.event_properties);
          if ("scaled" in amount) amounts.push([metric, amount.scaled]);
          else if ("dropped" in amount) drop(of(flag), amount.dropped, `${metric.key} of event ${eventId}`);
        }
        if (amounts.length > 0)
          unitWork(of(flag), unit).events.push({ id: eventId, time: event.time, message: queueId, amounts });
      }
    });
  }
  return [...work.values()];
}
