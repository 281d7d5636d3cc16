/**
 * Stable key order for exported files: an object's keys in the order its zod schema declares them (so a flag
 * reads key, name, description, type, variants, …), keys the schema does not know after them alphabetically, and
 * records (weights, inclusions) alphabetically. The same value always prints the same file, whatever order the
 * API answered in.
 */
import type * as z from "zod";

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object schemas a value of this schema may be: unions and intersections contribute each of theirs. */
function objectShapes(schema: z.ZodType | undefined, depth = 0): Record<string, z.ZodType>[] {
  if (!schema || depth > 20) return [];
  const def = defOf(schema);
  switch (def.type) {
    case "object":
      return def.shape ? [def.shape] : [];
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return objectShapes(def.innerType, depth + 1);
    case "union":
      return (def.options ?? []).flatMap((option) => objectShapes(option, depth + 1));
    case "intersection":
      return [...objectShapes(def.left, depth + 1), ...objectShapes(def.right, depth + 1)];
    case "pipe":
      return objectShapes(def.in, depth + 1);
    case "lazy":
      return objectShapes(def.getter?.(), depth + 1);
    default:
      return [];
  }
}

/** What the elements of an array schema, or the values of a record schema, are. */
function inner(schema: z.ZodType | undefined, kind: "array" | "record", depth = 0): z.ZodType | undefined {
  if (!schema || depth > 20) return undefined;
  const def = defOf(schema);
  if (def.type === kind) return kind === "array" ? def.element : def.valueType;
  if (def.innerType) return inner(def.innerType, kind, depth + 1);
  if (def.type === "pipe") return inner(def.in, kind, depth + 1);
  if (def.type === "union" || def.type === "intersection") {
    for (const option of def.options ?? [def.left, def.right]) {
      const found = inner(option, kind, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

export function orderKeys(schema: z.ZodType | undefined, value: unknown): unknown {
  if (Array.isArray(value)) {
    const element = inner(schema, "array");
    return value.map((item) => orderKeys(element, item));
  }
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  const shapes = objectShapes(schema);
  if (shapes.length === 0) {
    const values = inner(schema, "record");
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, orderKeys(values, record[key])]),
    );
  }
  const declared = [...new Set(shapes.flatMap((shape) => Object.keys(shape)))];
  const known = declared.filter((key) => key in record);
  const unknown = Object.keys(record)
    .filter((key) => !declared.includes(key))
    .sort();
  const fieldSchema = (key: string) => shapes.find((shape) => key in shape)?.[key];
  return Object.fromEntries([...known, ...unknown].map((key) => [key, orderKeys(fieldSchema(key), record[key])]));
}
