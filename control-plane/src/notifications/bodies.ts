/**
 * What a webhook receives for an event: the event as JSON (`format: "json"`), or a
 * Slack-compatible message (`format: "slack"`: `{"text": …}`, which Slack's incoming
 * webhooks, Mattermost and Discord's `/slack` endpoints accept).
 */
import type { NotificationEvent } from "./events.js";

export type WebhookFormat = "json" | "slack";

interface DiffEntry {
  type: string;
  path: Array<string | number>;
  value?: unknown;
  oldValue?: unknown;
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? "(none)" : text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

function diffLines(diff: DiffEntry[]): string {
  const lines = diff.slice(0, 8).map((d) => {
    const path = d.path.join(".");
    if (d.type === "CREATE") return `• ${path}: ${show(d.value)}`;
    if (d.type === "REMOVE") return `• ${path} removed`;
    return `• ${path}: ${show(d.oldValue)} → ${show(d.value)}`;
  });
  if (diff.length > 8) lines.push(`• …and ${diff.length - 8} more`);
  return lines.join("\n");
}

const percentText = (x: number) => (Number.isFinite(x) ? `${x > 0 ? "+" : ""}${(x * 100).toFixed(1)}%` : "n/a");

/** One line (or a few) a person reads in a channel. */
export function summary(event: NotificationEvent): string {
  const d = event.data;
  switch (event.type) {
    case "flag.changed": {
      const head = `*${d["actor"]}*: ${d["action"]} on flag \`${d["flag"]}\` (v${d["version"]}) in ${event.project}`;
      const lines = diffLines((d["diff"] as DiffEntry[] | undefined) ?? []);
      return lines ? `${head}\n${lines}` : head;
    }
    case "schedule.executed":
      return `Scheduled ${d["action"]} of \`${d["flag"]}\` ran (v${d["version"]}), scheduled by ${d["createdBy"]}`;
    case "schedule.failed":
      return `Scheduled ${d["action"]} of \`${d["flag"]}\` did not run: ${d["message"]}`;
    case "rollout.step":
      return `Rollout of \`${d["flag"]}\` is at ${d["percent"]}% (step ${Number(d["step"]) + 1} of ${d["steps"]})`;
    case "rollout.completed":
      return `Rollout of \`${d["flag"]}\` reached 100%`;
    case "rollout.rolled_back": {
      const check = (d["check"] ?? {}) as { metric?: string; lift?: number | null; interval?: number[] | null };
      const lift = typeof check.lift === "number" ? ` ${percentText(check.lift)}` : "";
      const interval = check.interval ? ` [${check.interval.map((x) => x.toPrecision(3)).join(", ")}]` : "";
      return `Rolled back \`${d["flag"]}\` to 0% at ${d["percent"]}%: guardrail ${check.metric}${lift}${interval} (difference, always-valid interval)`;
    }
    case "experiment.significant":
      return `Experiment \`${d["flag"]}\`: ${d["metric"]} is significant for ${d["variant"]} (${percentText(Number(d["lift"]))}, ${d["verdict"]})`;
    case "experiment.srm":
      return `Experiment \`${d["flag"]}\`: sample-ratio mismatch (p = ${Number(d["pValue"]).toPrecision(2)}); do not trust its verdicts`;
    case "experiment.guardrail_harm":
      return `Experiment \`${d["flag"]}\`: guardrail ${d["metric"]} shows harm for ${d["variant"]} (${percentText(Number(d["lift"]))})`;
    case "webhook.test":
      return `Test notification from project ${event.project}`;
    default:
      return `${event.type} in ${event.project}`;
  }
}

export function webhookBody(event: NotificationEvent, format: WebhookFormat): string {
  if (format === "slack") return JSON.stringify({ text: summary(event) });
  const { id, type, project, at, data } = event;
  return JSON.stringify({ id, type, project, at, data });
}
