/**
 * How an Amplitude-model result reads in OpenFeature terms (OFREP):
 * - `variant` is the variant key, `reason` comes from the engine (TARGETING_MATCH,
 *   SPLIT, STATIC, DEFAULT, DISABLED).
 * - `value` is the variant's payload when it has one. A flag whose variants are only
 *   `on`/`off` (or `true`/`false`) without payloads is a boolean flag: `on` → true.
 *   Otherwise the variant's value, else its key. A flag with no result is treated as
 *   its default variant `off`.
 * - The context's `targetingKey` is the Amplitude `user_id`; Amplitude's built-in user
 *   fields stay at the top of the user, any other attribute is a user property.
 */
import { USER_FIELDS, type CompiledFlagSet, type EvaluationFlag, type Outcome } from "../../shared/evaluation/index.js";
import type { User } from "./user.js";

const BOOLEAN_KEYS = new Set(["on", "off", "true", "false"]);
const TRUE_KEYS = new Set(["on", "true"]);

const isBuiltIn = (name: string) => USER_FIELDS.has(name) || name === "groups" || name === "group_properties";

export interface OfrepResult {
  key: string;
  value: unknown;
  reason: string;
  variant?: string;
  metadata?: Record<string, string | number | boolean>;
}

const isBooleanFlag = (flag: EvaluationFlag): boolean =>
  Object.entries(flag.variants).every(([key, variant]) => BOOLEAN_KEYS.has(key) && variant.payload === undefined);

// Per compiled flag set: which flags read as booleans (computed once per published version).
const booleanFlags = new WeakMap<CompiledFlagSet, Set<string>>();
function booleanFlagsOf(compiled: CompiledFlagSet): Set<string> {
  let keys = booleanFlags.get(compiled);
  if (!keys) {
    keys = new Set(compiled.validFlags.filter(isBooleanFlag).map((flag) => flag.key));
    booleanFlags.set(compiled, keys);
  }
  return keys;
}

const primitives = (metadata: Record<string, unknown> | undefined): Record<string, string | number | boolean> =>
  Object.fromEntries(
    Object.entries(metadata ?? {}).filter(([, v]) => ["string", "number", "boolean"].includes(typeof v)),
  ) as Record<string, string | number | boolean>;

export function toOfrepResult(compiled: CompiledFlagSet, key: string, outcome: Outcome | undefined): OfrepResult {
  const isBoolean = booleanFlagsOf(compiled).has(key);
  if (!outcome) return { key, value: isBoolean ? false : "off", reason: "DEFAULT", variant: "off" };
  const { variant, reason } = outcome;
  const variantKey = variant.key ?? "off";
  const value = isBoolean ? TRUE_KEYS.has(variantKey) : (variant.payload ?? variant.value ?? variantKey);
  return { key, value, reason, variant: variantKey, metadata: primitives(variant.metadata) };
}

/** OpenFeature evaluation context → Amplitude user. */
export function contextToUser(context: Record<string, unknown>): User {
  const { targetingKey, user_properties: userProperties, ...attributes } = context;
  const user: Record<string, unknown> = {};
  const properties: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes)) (isBuiltIn(name) ? user : properties)[name] = value;
  if (targetingKey !== undefined) user["user_id"] = targetingKey;
  if (userProperties && typeof userProperties === "object") Object.assign(properties, userProperties);
  if (Object.keys(properties).length) user["user_properties"] = properties;
  return user as User;
}
