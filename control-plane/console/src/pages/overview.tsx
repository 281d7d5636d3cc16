/**
 * A flag's whole design on one page: the hypothesis, what it serves to whom (variants and
 * payloads, bucketing unit, allocation, targeting in words, inclusions, exclusions), the
 * metrics with their roles, the analysis settings, the decision, and prerequisites both ways.
 */
import type { ComponentChildren } from "preact";
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { Banner, useLoad } from "../components.js";
import { allocationInWords, dependentsOf, shares, targetingInWords, unitInWords } from "../describe-flag.js";
import type { Flag, Metric } from "../types.js";
import { describeMetric } from "./metric-form.js";

const Fact = ({ term, children }: { term: string; children: ComponentChildren }) => (
  <>
    <dt>{term}</dt>
    <dd>{children}</dd>
  </>
);

const ids = (set: { userIds: string[]; deviceIds: string[] }) =>
  [
    set.userIds.length ? `users ${set.userIds.join(", ")}` : "",
    set.deviceIds.length ? `devices ${set.deviceIds.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");

function MetricLine({ metric, role }: { metric: Metric; role: string }) {
  return (
    <li data-metric-role={role}>
      <span class="tag">{role}</span> {metric.name ?? metric.key}: {describeMetric(metric)}
    </li>
  );
}

export function Overview({ project, flag }: { project: string; flag: Flag }) {
  const all = useLoad(() => api.get<Flag[]>(`/projects/${project}/flags`), [project, flag.version]);
  const dependents = all.data ? dependentsOf(flag.key, all.data) : undefined;
  const experiment = flag.type === "experiment";
  const decided = flag.status === "decided" ? flag.decidedVariant : undefined;
  const inclusions = Object.entries(flag.inclusions).filter(([, set]) => ids(set));
  const exclusions = ids(flag.exclusions);
  const metrics = [
    ...(flag.primaryMetric ? [{ metric: flag.primaryMetric, role: "primary" }] : []),
    ...flag.secondaryMetrics.map((metric) => ({ metric, role: "secondary" })),
    ...flag.guardrailMetrics.map((metric) => ({ metric, role: "guardrail" })),
  ];
  return (
    <section class="overview">
      {decided && (
        <Banner kind="success" title={`Decided: ${decided} ships.`}>
          Every targeted user gets <code>{decided}</code>; the split below was the experiment's.
        </Banner>
      )}
      {flag.description && <p>{flag.description}</p>}
      {experiment && (
        <div class="panel hypothesis" data-testid="hypothesis">
          <h2>Hypothesis</h2>
          {flag.hypothesis ? (
            <dl class="facts">
              <Fact term="Problem">{flag.hypothesis.problem || "—"}</Fact>
              <Fact term="Proposed change">{flag.hypothesis.proposedChange || "—"}</Fact>
              <Fact term="Predicted result">{flag.hypothesis.predictedResult || "—"}</Fact>
            </dl>
          ) : (
            <p class="muted">None written: say what problem this solves and what you expect, before it starts.</p>
          )}
        </div>
      )}
      <dl class="facts" data-testid="design">
        <Fact term="Variants">
          <ul class="plain">
            {shares(flag).map(({ key, percent }) => {
              const variant = flag.variants.find((v) => v.key === key)!;
              return (
                <li key={key} data-variant={key}>
                  <code>{key}</code> {decided ? (key === decided ? "100% (decided)" : "0%") : `${percent}%`}
                  {variant.description && <> · {variant.description}</>}
                  {variant.value !== undefined && (
                    <>
                      {" "}
                      · value <code>{variant.value}</code>
                    </>
                  )}
                  {variant.payload !== undefined && (
                    <>
                      {" "}
                      · payload <code class="payload">{JSON.stringify(variant.payload)}</code>
                    </>
                  )}
                </li>
              );
            })}
          </ul>
        </Fact>
        <Fact term="Bucketing unit">
          {unitInWords(flag.bucketing)}
          {flag.bucketing.salt ? ` (salt ${flag.bucketing.salt})` : ""}: each {unitInWords(flag.bucketing)} always gets
          the same variant
        </Fact>
        <Fact term="Allocation">
          {flag.rollout}% rollout, split {allocationInWords(flag)}
        </Fact>
        <Fact term="Targeting">
          <ul class="plain">
            {targetingInWords(flag).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </Fact>
        <Fact term="Inclusions">
          {inclusions.length === 0 ? (
            <span class="muted">none</span>
          ) : (
            <ul class="plain">
              {inclusions.map(([variant, set]) => (
                <li key={variant}>
                  always <code>{variant}</code>: {ids(set)}
                </li>
              ))}
            </ul>
          )}
        </Fact>
        <Fact term="Exclusions">{exclusions ? `never served: ${exclusions}` : <span class="muted">none</span>}</Fact>
        <Fact term="Deployments">{flag.deployments.join(", ") || "none (not served)"}</Fact>
        <Fact term="Depends on">
          {flag.prerequisites.length === 0 ? (
            <span class="muted">nothing</span>
          ) : (
            flag.prerequisites.map((p) => (
              <div key={p.flagKey}>
                <Link href={`/projects/${project}/flags/${p.flagKey}`}>{p.flagKey}</Link> is {p.variants.join(" or ")}
              </div>
            ))
          )}
        </Fact>
        <Fact term="Depended on by">
          {dependents === undefined ? (
            "…"
          ) : dependents.length === 0 ? (
            <span class="muted">no flag</span>
          ) : (
            dependents.map((key, i) => (
              <span key={key}>
                {i > 0 && ", "}
                <Link href={`/projects/${project}/flags/${key}`}>{key}</Link>
              </span>
            ))
          )}
        </Fact>
        {flag.groups.length > 0 && <Fact term="Groups">{flag.groups.join(", ")}</Fact>}
        {experiment && (
          <Fact term="Metrics">
            {metrics.length === 0 ? (
              <span class="muted">none yet: an experiment needs a primary metric</span>
            ) : (
              <ul class="plain">
                {metrics.map(({ metric, role }) => (
                  <MetricLine key={`${role}-${metric.key}`} metric={metric} role={role} />
                ))}
              </ul>
            )}
          </Fact>
        )}
        {experiment && (
          <Fact term="Analysis">
            {flag.statisticalMethod === "sequential" ? "sequential test" : "fixed-horizon t-test"},{" "}
            {Math.round(flag.confidenceLevel * 100)}% confidence
            {flag.minimumDetectableEffect ? `, minimum detectable effect ${flag.minimumDetectableEffect * 100}%` : ""},{" "}
            {flag.multipleTestingCorrection ?? "bonferroni"} correction
            {flag.analysisPeriods?.length ? `; analysis period ${flag.analysisPeriods.length}` : ""}
          </Fact>
        )}
      </dl>
      {experiment && (
        <p>
          <Link href={`/projects/${project}/flags/${flag.key}/results`}>See the results →</Link>
        </p>
      )}
    </section>
  );
}
