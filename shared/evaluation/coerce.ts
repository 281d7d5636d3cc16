/**
 * How the engine turns context values into the strings that operators compare:
 * objects become JSON, everything else `String(value)`; arrays, and strings that
 * parse as JSON arrays, become lists of strings with empty elements dropped.
 */
export function coerceString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function toStringList(values: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const element of values) {
    const text = coerceString(element);
    if (text) out.push(text);
  }
  return out;
}

export function coerceStringArray(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return toStringList(value);
  const text = String(value);
  if (!text.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? toStringList(parsed) : undefined;
  } catch {
    return undefined;
  }
}
