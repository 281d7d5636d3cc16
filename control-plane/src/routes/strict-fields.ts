/**
 * Request bodies name only fields the API knows. zod drops unknown fields silently, so a
 * typo like `"rolout": 10` used to answer 200 and leave the rollout at its default of 100%;
 * a `__proto__` key was dropped the same way (it cannot round-trip through an object).
 * Every validated JSON body is compared with what validation kept: anything dropped is a
 * 400 naming it.
 */
import * as z from "zod";
import { ApiError } from "../../../shared/http/errors.js";
import { isRecord } from "../../../shared/is-record.js";

/** The 400 naming the fields a body may not have. */
export function unknownFieldsError(paths: ReadonlyArray<Array<string | number>>): ApiError {
  const names = paths.map((path) => path.join("."));
  return new ApiError({
    status: 400,
    code: "validation_failed",
    message: `Unknown field${names.length > 1 ? "s" : ""} ${names.join(", ")}`,
    details: paths.map((path) => ({ path: path.map(String), message: "unknown field" })),
  });
}

/** Paths present in `raw` that validation did not keep (and every `__proto__` key). */
export function droppedFields(
  raw: unknown,
  kept: unknown,
  path: Array<string | number> = [],
): Array<Array<string | number>> {
  if (isRecord(raw)) {
    return Object.keys(raw).flatMap((key) =>
      key === "__proto__" || !isRecord(kept) || !Object.hasOwn(kept, key)
        ? [[...path, key]]
        : droppedFields(raw[key], kept[key], [...path, key]),
    );
  }
  if (Array.isArray(raw) && Array.isArray(kept))
    return raw.flatMap((item, i) => droppedFields(item, kept[i], [...path, i]));
  return [];
}

/** The schema inside optional, default and nullable wrappers. */
function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault || inner instanceof z.ZodNullable)
    inner = inner.unwrap() as z.ZodType;
  return inner;
}

/**
 * Paths of a merge patch's removals (`null`) that name no field: validation never sees them (they are gone after
 * merging), so `{"constructor": null}` or `{"bucketing": {"foo": null}}` would save a new version naming nothing. A
 * removal is known when the schema declares the key (any key of a record), or, where the schema says nothing about
 * the keys (free-form JSON), when the current value has it.
 */
export function unknownRemovals(
  patch: unknown,
  schema: z.ZodType | undefined,
  current: unknown,
  path: string[] = [],
): string[][] {
  if (!isRecord(patch)) return [];
  const inner = schema && unwrapped(schema);
  return Object.entries(patch).flatMap(([key, value]) => {
    const shape = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>) : undefined;
    const declared = shape
      ? Object.hasOwn(shape, key)
      : inner instanceof z.ZodRecord || (isRecord(current) && Object.hasOwn(current, key));
    if (value === null) return declared ? [] : [[...path, key]];
    if (shape && !declared) return []; // an unknown field with a value: droppedFields names it
    const child = shape ? shape[key] : inner instanceof z.ZodRecord ? (inner.valueType as z.ZodType) : undefined;
    return unknownRemovals(value, child, isRecord(current) ? current[key] : undefined, [...path, key]);
  });
}
