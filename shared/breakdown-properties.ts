/**
 * The user properties kept with each exposure as columns of the event store, for breakdowns
 * and user-property filters: the edge sends them (shared/events.ts `userProperties`), the
 * store keeps them. In a module of its own, without zod, so the console's bundle can read
 * the list without carrying the event schemas (96 KiB of zod).
 */
export const BREAKDOWN_PROPERTIES = ["country", "platform", "os", "app_version"] as const;
export type BreakdownProperty = (typeof BREAKDOWN_PROPERTIES)[number];

/**
 * A project may name more user properties to keep with each exposure (its
 * `breakdownProperties` setting, published in the deployment document): at most this many,
 * so an exposure message stays small whatever the project configures.
 */
export const MAX_PROJECT_BREAKDOWN_PROPERTIES = 10;
/** A property's name: what the report's `?breakdown=` accepts, and short enough to label a column. */
export const BREAKDOWN_PROPERTY_NAME = /^[A-Za-z0-9_.$-]{1,64}$/;
/** Each value the edge keeps, built-in or configured, is cut to this many characters. */
export const MAX_BREAKDOWN_VALUE_CHARS = 100;
