/** A JSON object: not null, not an array (what `typeof value === "object"` alone lets through). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);
