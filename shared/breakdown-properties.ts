/**
 * The user properties kept with each exposure as columns of the event store, for breakdowns
 * and user-property filters: the edge sends them (shared/events.ts `userProperties`), the
 * store keeps them. In a module of its own, without zod, so the console's bundle can read
 * the list without carrying the event schemas (96 KiB of zod).
 */
export const BREAKDOWN_PROPERTIES = ["country", "platform", "os", "app_version"] as const;
export type BreakdownProperty = (typeof BREAKDOWN_PROPERTIES)[number];
