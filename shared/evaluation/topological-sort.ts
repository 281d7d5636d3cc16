/**
 * Orders flags so that every flag comes after the flags it depends on, walking from
 * the requested keys (or all flags) and pulling in unrequested parents. Same order as
 * `topologicalSort` of `@amplitude/experiment-core`; a dependency on a missing flag is
 * skipped, and a cycle is an error.
 */
export interface DependentFlag {
  readonly key: string;
  readonly dependencies?: readonly string[] | undefined;
}

export class DependencyCycleError extends Error {
  constructor(readonly path: readonly string[]) {
    super(`Detected a cycle between flags ${path.join(", ")}`);
    this.name = "DependencyCycleError";
  }
}

export function topologicalSort<F extends DependentFlag>(
  flags: Readonly<Record<string, F>>,
  keys?: readonly string[],
): F[] {
  const available = new Map(Object.entries(flags));
  const sorted: F[] = [];
  const visit = (key: string, path: string[]): void => {
    const flag = available.get(key);
    if (!flag) return;
    if (flag.dependencies?.length) {
      path.push(flag.key);
      for (const parent of flag.dependencies) {
        if (path.includes(parent)) throw new DependencyCycleError([...path]);
        visit(parent, path);
      }
      path.pop();
    }
    sorted.push(flag);
    available.delete(key);
  };
  for (const key of keys ?? Object.keys(flags)) visit(key, []);
  return sorted;
}
