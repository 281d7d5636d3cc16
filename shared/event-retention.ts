/**
 * How long the event store keeps a project's events (docs/event-store.md, Retention): the
 * project record's `eventRetentionDays`, set by `PUT /projects/{p}/event-retention`, else the
 * default. At most the default, since in the cloud the bucket's lifecycle rule expires every
 * event after that many days whatever a project asks (infra/stack.ts): a longer setting
 * would be a promise the store cannot keep.
 */
export const DEFAULT_RETENTION_DAYS = 400;
export const MIN_RETENTION_DAYS = 1;

/** A project record's retention: its `eventRetentionDays` when a whole number in range, else the default. */
export function retentionDaysOf(record: { eventRetentionDays?: unknown } | undefined): number {
  const days = record?.eventRetentionDays;
  return typeof days === "number" &&
    Number.isInteger(days) &&
    days >= MIN_RETENTION_DAYS &&
    days <= DEFAULT_RETENTION_DAYS
    ? days
    : DEFAULT_RETENTION_DAYS;
}
