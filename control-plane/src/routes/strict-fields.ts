/**
 * Request bodies name only fields the API knows. zod drops unknown fields silently, so a
 * typo like `"rolout": 10` used to answer 200 and leave the rollout at its default of 100%;
 * a `__proto__` key was dropped the same way (it cannot round-trip through an object).
 * Every validated JSON body is compared with what validation kept: anything dropped is a
 * 400 naming it.
 */
import { ApiError } from "../../../shared/http/errors.js";

export const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

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
  if (isObject(raw)) {
    return Object.keys(raw).flatMap((key) =>
      key === "__proto__" || !isObject(kept) || !Object.hasOwn(kept, key)
        ? [[...path, key]]
        : droppedFields(raw[key], kept[key], [...path, key]),
    );
  }
  if (Array.isArray(raw) && Array.isArray(kept))
    return raw.flatMap((item, i) => droppedFields(item, kept[i], [...path, i]));
  return [];
}
