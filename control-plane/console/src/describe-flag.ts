/**
 * A flag's design and the consequences of its lifecycle actions in plain words, as pure
 * functions of the flag (and what the page loaded: exposures, dependents), so the overview
 * and the confirmations say the same thing and a table-driven test can hold them to it.
 */
import type { Condition, Flag } from "./types.js";

const list = (items: string[], last = "or") =>
  items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} ${last} ${items.at(-1)}`;
const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

/** Built-in fields that read better as a preposition: "in US", "on iOS". */
const PREPOSITION: Record<string, string> = { country: "in", platform: "on", os: "on", device_family: "on" };
const OPERATOR_WORDS: Record<string, string> = {
  less: "below",
  "less or equal": "at most",
  greater: "above",
  "greater or equal": "at least",
  // Compared as versions: the property (app_version) says what it is.
  "version less": "below",
  "version less or equal": "at most",
  "version greater": "above",
  "version greater or equal": "at least",
};

/** One condition in words: `country is US, CA` → "in US or CA". */
export function conditionInWords(condition: Condition): string {
  const property = condition.groupType ? `${condition.groupType}.${condition.property}` : condition.property;
  const values = condition.values;
  const preposition = PREPOSITION[condition.property];
  if (condition.op === "is" && preposition && !condition.groupType) return `${preposition} ${list(values)}`;
  const operator = OPERATOR_WORDS[condition.op];
  if (operator) return `${property} ${operator} ${values[0] ?? ""}`.trim();
  const joiner = condition.op.startsWith("set") && !condition.op.includes("any") ? "and" : "or";
  return `${property} ${condition.op} ${list(values, joiner)}`;
}

/** Each variant's share in percent (equal shares when the flag sets none). */
export function shares(flag: Pick<Flag, "variants" | "weights">): Array<{ key: string; percent: number }> {
  return flag.variants.map((v) => ({
    key: v.key,
    percent: Math.round((flag.weights?.[v.key] ?? 100 / flag.variants.length) * 100) / 100,
  }));
}

export const allocationInWords = (flag: Pick<Flag, "variants" | "weights">) =>
  shares(flag)
    .map((s) => `${s.key} ${s.percent}%`)
    .join(" / ");

const unitNames = { user_id: "user", device_id: "device" } as const;
export const unitInWords = (bucketing: Flag["bucketing"]) =>
  bucketing.unit === "group" ? `group (${bucketing.groupType ?? "?"})` : unitNames[bucketing.unit];

/** Who sees the flag, segment by segment, then everyone else: "users in US on iOS: 50% rollout". */
export function targetingInWords(flag: Pick<Flag, "segments" | "rollout" | "bucketing">): string[] {
  const who = `${unitInWords(flag.bucketing)}s`;
  const segments = flag.segments.map(
    (s) => `${s.name}: ${who} ${s.conditions.map(conditionInWords).join(" ")}: ${s.rollout}% rollout`,
  );
  return [...segments, `${segments.length ? "Everyone else" : `All ${who}`}: ${flag.rollout}% rollout`];
}

/** The flags whose prerequisites name `key`: they stop serving (or change) when it stops. */
export const dependentsOf = (key: string, flags: Array<Pick<Flag, "key" | "prerequisites">>) =>
  flags.filter((f) => f.key !== key && f.prerequisites.some((p) => p.flagKey === key)).map((f) => f.key);

export type LifecycleAction = "start" | "stop" | "decide" | "activate" | "deactivate" | "archive" | "unarchive";

/** What the page knows beyond the flag when it asks: exposures so far (from the report) and dependents. */
export interface ActionContext {
  exposures?: Array<{ key: string; exposures: number }> | undefined;
  dependents?: string[] | undefined;
  /** The variant `decide` would ship. */
  winner?: string | undefined;
}

function dependentsWarning(dependents: string[] | undefined): string {
  if (!dependents?.length) return "";
  return ` Warning: ${count(dependents.length, "flag")} depend${dependents.length === 1 ? "s" : ""} on this one (${list(dependents, "and")}) and will treat it as off.`;
}

function exposedInWords(exposures: ActionContext["exposures"]): string | undefined {
  if (!exposures) return undefined;
  const total = exposures.reduce((n, v) => n + v.exposures, 0);
  if (total === 0) return undefined;
  return `${count(total, "exposed user")} (${exposures.map((v) => `${v.exposures.toLocaleString("en-US")} in ${v.key}`).join(", ")})`;
}

/** The question a confirmation asks before `action`: what happens to traffic and to the analysis. */
export function consequence(flag: Flag, action: LifecycleAction, context: ActionContext = {}): string {
  const periods = flag.analysisPeriods?.length ?? 0;
  const where = flag.deployments.length ? `on ${list(flag.deployments, "and")}` : "(no deployment yet: nobody)";
  const warn = dependentsWarning(context.dependents);
  switch (action) {
    case "start":
      return (
        `Start: ${flag.rollout}% of targeted ${unitInWords(flag.bucketing)}s ${where} are split ${allocationInWords(flag)} ` +
        `and their exposures count in analysis period ${periods + 1}` +
        (periods > 0 ? ` (fresh data; period ${periods}'s results stay readable).` : ".")
      );
    case "stop": {
      const exposed = exposedInWords(context.exposures);
      return (
        `Stop: ${exposed ? `${exposed} go` : "every user in it goes"} back to the SDK's fallback; ` +
        `this ends analysis period ${periods}.${warn}`
      );
    }
    case "decide": {
      const winner = context.winner ?? flag.variants.at(-1)!.key;
      const others = flag.variants.filter((v) => v.key !== winner).map((v) => v.key);
      return (
        `Ship ${winner}: every targeted user gets ${winner} from now on (${list(others, "and")} stop${others.length === 1 ? "s" : ""} being served); ` +
        `the experiment ends with analysis period ${periods}.`
      );
    }
    case "activate":
      return `Activate: ${flag.rollout}% of targeted users ${where} get ${list(flag.variants.map((v) => v.key))}.`;
    case "deactivate":
      if (flag.type === "release")
        return `Deactivate: the ${flag.rollout}% of users who get it now get the SDK's default instead.${warn}`;
      return flag.status === "decided"
        ? `Deactivate: ${flag.decidedVariant ?? "the shipped variant"} stops being served to everyone; users get the SDK's fallback.${warn}`
        : `Deactivate: nobody is served a variant any more and analysis period ${periods} ends.${warn}`;
    case "archive":
      return (
        `Archive: stops serving it to anyone and makes it read-only; Unarchive puts it back as ${flag.status}` +
        `${flag.status === "running" ? `; analysis period ${periods} ends now` : ""}.${warn}`
      );
    case "unarchive":
      return `Unarchive: it returns as ${flag.statusBeforeArchive ?? (flag.type === "experiment" ? "draft" : "inactive")}.`;
  }
}
