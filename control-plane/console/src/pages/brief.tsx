/**
 * An experiment's brief (brief.ts): one printable page with the hypothesis, design, dates,
 * results with intervals and the decision, and the same as Markdown, for sharing with the team.
 */
import { Fragment } from "preact";
import { statsApi } from "../api.js";
import { Loading, useLoad } from "../components.js";
import { briefMarkdown, briefSections, type BriefSection } from "../brief.js";
import type { Flag, Report } from "../types.js";
import { describeMetric } from "./metric-form.js";

export function BriefTab({ project, flag }: { project: string; flag: Flag }) {
  const started = (flag.analysisPeriods?.length ?? 0) > 0;
  // No report (not started, or the stats service unreachable) still leaves a brief of the design.
  const report = useLoad(
    () =>
      started
        ? statsApi.get<Report>(`/projects/${project}/experiments/${flag.key}/report`).catch(() => null)
        : Promise.resolve(null),
    [project, flag.key, flag.version],
  );
  return (
    <Loading state={report}>
      {(r) => {
        const sections = briefSections(flag, r ?? undefined, describeMetric);
        const download = () => {
          const link = document.createElement("a");
          link.href = URL.createObjectURL(new Blob([briefMarkdown(flag, sections)], { type: "text/markdown" }));
          link.download = `${flag.key}-brief.md`;
          link.click();
          URL.revokeObjectURL(link.href);
        };
        return (
          <article class="brief" data-testid="brief">
            <div class="actions brief-actions">
              <button type="button" class="primary" onClick={() => window.print()}>
                Print
              </button>
              <button type="button" onClick={download}>
                Download Markdown
              </button>
            </div>
            <h2 class="brief-title">
              {flag.name} <code>{flag.key}</code>
            </h2>
            <p class="muted">
              Experiment brief · {flag.status} · version {flag.version}
            </p>
            {sections.map((section) => (
              <Section key={section.title} section={section} />
            ))}
          </article>
        );
      }}
    </Loading>
  );
}

function Section({ section }: { section: BriefSection }) {
  return (
    <section class="brief-section" data-brief-section={section.title}>
      <h3>{section.title}</h3>
      <dl class="facts">
        {section.rows.map(([label, text]) => (
          <Fragment key={label}>
            <dt>{label}</dt>
            <dd>{text}</dd>
          </Fragment>
        ))}
      </dl>
      {section.tables?.map((table) => (
        <table key={table.caption} class="list numbers">
          <caption>{table.caption}</caption>
          <thead>
            <tr>
              {table.head.map((h) => (
                <th key={h} scope="col">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row, i) => (
              <tr key={i}>
                {row.map((c, j) => (
                  <td key={j}>{c}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </section>
  );
}
