/**
 * Changes between two versions of a flag, as microdiff reports them (the server's history
 * uses the same library), and a three-way "reapply mine on top of theirs".
 */
import diff, { type Difference } from "microdiff";

export type Change = Difference;

export const changesBetween = (before: object, after: object): Change[] =>
  diff(before as Record<string, unknown>, after as Record<string, unknown>);

const clone = <T>(value: T): T => structuredClone(value);

/**
 * Applies `changes` (made from some base) to `target`: what the admin changed is set again on
 * top of someone else's newer version. Removals from arrays go from the highest index down so
 * earlier removals do not shift later ones.
 */
export function applyChanges<T extends object>(target: T, changes: Change[]): T {
  const result = clone(target) as Record<string | number, unknown>;
  const removals = changes
    .filter((c) => c.type === "REMOVE")
    .sort((a, b) => Number(b.path.at(-1)) - Number(a.path.at(-1)));
  for (const change of [...changes.filter((c) => c.type !== "REMOVE"), ...removals]) {
    const parentPath = change.path.slice(0, -1);
    const last = change.path.at(-1)!;
    let parent: Record<string | number, unknown> = result;
    for (const [index, step] of parentPath.entries()) {
      if (parent[step] === null || typeof parent[step] !== "object")
        parent[step] = typeof change.path[index + 1] === "number" ? [] : {};
      parent = parent[step] as Record<string | number, unknown>;
    }
    if (change.type === "REMOVE") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      parent[last] = clone(change.value);
    }
  }
  return result as T;
}
