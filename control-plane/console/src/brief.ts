/**
 * An experiment's brief: hypothesis, design, dates, results with intervals and the decision, as
 * sections of label/value rows and tables, rendered both as the printable page (pages/brief.tsx)
 * and as Markdown (`briefMarkdown`), so the two never say different things. Pure, table-tested.
 */
import { conclude } from "./conclusion.js";
import { allocationInWords, shares, targetingInWords, unitInWords } from "./describe-flag.js";
import type { Flag, Metric, Report } from "./types.js";

export interface BriefTable {
  head: string[];
  rows: string[][];
}
export interface BriefSection {
  title: string;
  rows: Array<[string, string]>;
  tables?: Array<{ caption: string } & BriefTable>;
}

const pct = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : `${v > 0 ? "+" : ""}${(v * 100).toFixed(digits)}%`;
const day = (iso: string | undefined | null) => (iso ? iso.slice(0, 10) : "—");
const ids = (set: { userIds: string[]; deviceIds: string[] }) =>
  [
    set.userIds.length ? `users ${set.userIds.join(", ")}` : "",
    set.deviceIds.length ? `devices ${set.deviceIds.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
const value = (payload: unknown) => (typeof payload === "string" ? payload : JSON.stringify(payload));
const number = (n: number) => (Number.isInteger(n) ? n.toLocaleString("en-US") : n.toPrecision(4));

const VERDICT_WORDS: Record<string, string> = {
  significant_positive: "significantly better",
  significant_negative: "significantly worse",
  not_yet_significant: "not significant yet",
  insufficient_data: "not enough data",
  harm_detected: "harm detected",
  no_harm_detected: "no harm detected",
};

/** The brief's sections; `describe` says what a metric measures ("unique conversions of purchase"). */
export function briefSections(flag: Flag, report: Report | undefined, describe: (m: Metric) => string): BriefSection[] {
  const h = flag.hypothesis;
  const metricLine = (m: Metric) => `${m.name ?? m.key}: ${describe(m)}`;
  const inclusions = Object.entries(flag.inclusions)
    .map(([variant, set]) => (ids(set) ? `${variant}: ${ids(set)}` : ""))
    .filter(Boolean);
  const sections: BriefSection[] = [
    {
      title: "Hypothesis",
      rows: [
        ["Problem", h?.problem || "—"],
        ["Proposed change", h?.proposedChange || "—"],
        ["Predicted result", h?.predictedResult || "—"],
      ],
    },
    {
      title: "Design",
      rows: [
        ...(flag.description ? [["Description", flag.description] as [string, string]] : []),
        ["Randomized by", unitInWords(flag.bucketing)],
        ["Allocation", `${flag.rollout}% in the experiment, split ${allocationInWords(flag)}`],
        ["Targeting", targetingInWords(flag).join("; ")],
        ["Inclusions", inclusions.join("; ") || "none"],
        ["Exclusions", ids(flag.exclusions) || "none"],
        ["Deployments", flag.deployments.join(", ") || "none"],
        ...(flag.prerequisites.length
          ? [
              [
                "Prerequisites",
                flag.prerequisites.map((p) => `${p.flagKey} is ${p.variants.join(" or ")}`).join("; "),
              ] as [string, string],
            ]
          : []),
        ...(flag.groups.length ? [["Groups", flag.groups.join(", ")] as [string, string]] : []),
      ],
      tables: [
        {
          caption: "Variants",
          head: ["Variant", "Share", "Description", "Value or payload"],
          rows: shares(flag).map(({ key, percent }) => {
            const v = flag.variants.find((x) => x.key === key)!;
            const served = [v.value, v.payload === undefined ? undefined : value(v.payload)].filter(
              (x) => x !== undefined,
            );
            return [key, `${percent}%`, v.description ?? "", served.join(" · ")];
          }),
        },
      ],
    },
    {
      title: "Metrics and analysis",
      rows: [
        ["Primary metric", flag.primaryMetric ? metricLine(flag.primaryMetric) : "none"],
        ["Secondary metrics", flag.secondaryMetrics.map(metricLine).join("; ") || "none"],
        ["Guardrail metrics", flag.guardrailMetrics.map(metricLine).join("; ") || "none"],
        [
          "Analysis",
          `${flag.statisticalMethod === "sequential" ? "sequential test (valid at every look)" : "fixed-horizon t-test"}, ` +
            `${Math.round(flag.confidenceLevel * 100)}% confidence` +
            (flag.minimumDetectableEffect
              ? `, minimum detectable effect ${pct(flag.minimumDetectableEffect).slice(1)}`
              : "") +
            (flag.multipleTestingCorrection ? `, ${flag.multipleTestingCorrection} correction` : ""),
        ],
      ],
    },
    {
      title: "Dates",
      rows: [
        ["Created", day(flag.createdAt)],
        ...(flag.analysisPeriods ?? []).map(
          (p, i) =>
            [
              `Analysis period ${i + 1}`,
              `${day(p.startedAt)} to ${p.stoppedAt ? day(p.stoppedAt) : "now (running)"}`,
            ] as [string, string],
        ),
        ...(flag.status === "decided" ? [["Decided", day(flag.updatedAt)] as [string, string]] : []),
      ],
    },
  ];

  if (report) {
    const conclusion = conclude(report);
    sections.push({
      title: "Results",
      rows: [
        ["Summary", `${conclusion.headline}. ${conclusion.detail}`],
        [
          "Exposures",
          report.variants.map((v) => `${v.key} ${v.exposures.toLocaleString("en-US")}`).join(", ") +
            ` (analysis period ${report.analysisPeriod.index} of ${report.analysisPeriod.periods})`,
        ],
      ],
      tables: report.metrics.map((m) => ({
        caption: `${m.name ?? m.key} (${m.role})`,
        head: ["Variant", "Units", "Mean", "Lift", `Interval of the lift`, "p-value", "Verdict"],
        rows: m.variants.map((v) => {
          const c = v.comparison;
          return [
            v.control ? `${v.variant} (control)` : v.variant,
            v.n.toLocaleString("en-US"),
            number(v.mean),
            c ? pct(c.lift) : "—",
            c?.relativeCi ? `${pct(c.relativeCi[0])} to ${pct(c.relativeCi[1])}` : "—",
            c ? c.pValue.toPrecision(2) : "—",
            c ? (VERDICT_WORDS[c.verdict] ?? c.verdict) + (c.trustworthy ? "" : " (do not act: warnings)") : "—",
          ];
        }),
      })),
    });
  } else {
    sections.push({
      title: "Results",
      rows: [["Summary", flag.analysisPeriods?.length ? "No report available" : "Not started yet"]],
    });
  }

  sections.push({
    title: "Decision",
    rows: [
      [
        "Decision",
        flag.status === "decided"
          ? `Shipped ${flag.decidedVariant ?? "a variant"} to everyone`
          : report
            ? `Not decided yet; the results recommend: ${conclude(report).headline}`
            : "Not decided yet",
      ],
    ],
  });
  return sections;
}

/** Pipes and line breaks would end a Markdown table cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");

export function briefMarkdown(flag: Flag, sections: BriefSection[]): string {
  const lines = [
    `# ${flag.name} (\`${flag.key}\`)`,
    "",
    `Experiment brief · status ${flag.status} · version ${flag.version}`,
  ];
  for (const section of sections) {
    lines.push("", `## ${section.title}`, "");
    for (const [label, text] of section.rows) lines.push(`- **${label}:** ${text.replace(/\n+/g, " ")}`);
    for (const table of section.tables ?? []) {
      lines.push(
        "",
        `**${table.caption}**`,
        "",
        `| ${table.head.map(cell).join(" | ")} |`,
        `|${table.head.map(() => " --- |").join("")}`,
      );
      for (const row of table.rows) lines.push(`| ${row.map(cell).join(" | ")} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}
