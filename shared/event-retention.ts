/**
 * How long the event store keeps a project's events (docs/event-store.md, Retention): the
 * project record's `eventRetentionDays`, set by `PUT /projects/{p}/event-retention`, else the
 * default. At most the default, since in the cloud the bucket's lifecycle rule expires every
 * event after that many days whatever a project asks (infra/stack.ts): a longer setting
 * would be a promise the store cannot keep.
 */
import * as z from "zod";

export const DEFAULT_RETENTION_DAYS = 400;
export const MIN_RETENTION_DAYS = 1;

/** A project's event retention: whole days, at most the default the cloud bucket's lifecycle rule expires at. */
export const eventRetentionDaysSchema = z.number().int().min(MIN_RETENTION_DAYS).max(DEFAULT_RETENTION_DAYS);

/** A project record's retention: its `eventRetentionDays` when the API would accept it, else the default. */
export function retentionDaysOf(record: { eventRetentionDays?: unknown } | undefined): number {
  const days = eventRetentionDaysSchema.safeParse(record?.eventRetentionDays);
  return days.success ? days.data : DEFAULT_RETENTION_DAYS;
}
