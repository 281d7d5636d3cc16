/** Human-readable output: a plan as a diff, apply's outcomes. Colored only when `color` (a TTY, no NO_COLOR). */
import type { ApplyOutcome } from "./apply.js";
import type { FieldChange, Plan } from "./plan.js";

export interface Palette {
  added(text: string): string;
  removed(text: string): string;
  changed(text: string): string;
  dim(text: string): string;
}

const ansi = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[39m`;
export const COLORS: Palette = {
  added: ansi(32),
  removed: ansi(31),
  changed: ansi(33),
  dim: (t) => `\u001b[2m${t}\u001b[22m`,
};
export const PLAIN: Palette = { added: (t) => t, removed: (t) => t, changed: (t) => t, dim: (t) => t };

const show = (value: unknown) => (value === undefined ? "(none)" : JSON.stringify(value));
const pathOf = (path: FieldChange["path"]) =>
  path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`)).join("");

function fieldLine(field: FieldChange, palette: Palette): string {
  const at = pathOf(field.path);
  if (!("before" in field)) return palette.added(`    + ${at}: ${show(field.after)}`);
  if (!("after" in field)) return palette.removed(`    - ${at}: ${show(field.before)}`);
  return `    ${palette.changed("~")} ${at}: ${palette.removed(show(field.before))} → ${palette.added(show(field.after))}`;
}

/** Nothing at all when nothing differs, so `diff` in CI prints only what a reviewer needs. */
export function renderPlan(plan: Plan, palette: Palette, verb: { create: string; update: string }): string[] {
  const lines: string[] = [];
  for (const change of plan.changes) {
    const what = `${change.kind} ${change.key}`;
    if (change.action === "create") {
      lines.push(palette.added(`+ ${verb.create} ${what}`) + palette.dim(`  (${change.file})`));
      continue;
    }
    const version = change.live?.version === undefined ? "" : `, live version ${change.live.version}`;
    lines.push(palette.changed(`~ ${verb.update} ${what}`) + palette.dim(`  (${change.file}${version})`));
    for (const field of change.fields) lines.push(fieldLine(field, palette));
  }
  for (const { kind, key } of plan.liveOnly)
    lines.push(palette.removed(`- ${kind} ${key} is live but in no file`) + palette.dim("  (apply leaves it)"));
  return lines;
}

export function renderOutcomes(outcomes: ApplyOutcome[], palette: Palette): string[] {
  return outcomes.map((o) => {
    const what = `${o.action === "create" ? "created" : "updated"} ${o.kind} ${o.key}`;
    const version = o.version === undefined ? "" : palette.dim(` (version ${o.version})`);
    if (o.result === "applied") return palette.added(`✓ ${what}`) + version;
    if (o.result === "requested") return palette.changed(`→ ${o.kind} ${o.key}: ${o.message}`);
    const label = o.result === "conflict" ? "conflict" : "refused";
    return palette.removed(`✗ ${label}: ${o.kind} ${o.key}: ${o.message}`);
  });
}
