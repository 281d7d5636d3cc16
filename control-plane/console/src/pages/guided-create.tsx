/**
 * Guided creation (guided-steps.ts): one step per screen, in the workflow's order, each with a
 * sentence of advice, for an experiment or a release flag. It edits the same draft as the full
 * editor, with the editor's own fieldsets, and can hand the draft over to it at any step.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { api } from "../api.js";
import { Banner, ChangeList, ErrorBanner, Loading, useLoad } from "../components.js";
import { changesBetween } from "../diff.js";
import { GUIDES, guidedDraft, guidedProblems, keyFromName, stepProblems, type GuideKind } from "../guided-steps.js";
import type { Deployment, Flag, FlagInput, StoredGroup } from "../types.js";
import { problemLabel } from "../validate-draft.js";
import { carryDraft, newFlag, setByNewFlag, type Edit } from "./editor/draft.js";
import { DeploymentsField } from "./editor/deployments.js";
import { ExperimentFields } from "./editor/experiment-fields.js";
import { CheckedField, CheckedTextArea, GroupProblem, ProblemsContext } from "./editor/problems.js";
import { SegmentsEditor } from "./editor/segments.js";
import { TargetingLists } from "./editor/targeting-lists.js";
import { BucketingFields, RolloutSlider, VariantWeights } from "./editor/rollout.js";
import { VariantsEditor } from "./editor/variants.js";
import { QuickStart } from "./quick-start.js";

/** The bucketing units in a newcomer's words: what each one means for who sees what. */
const GUIDED_UNITS = [
  ["user_id", "User ID: signed-in users, the same variant on every device"],
  ["device_id", "Device ID: anonymous visitors, one variant per device"],
  ["group", "Group: everyone in a company (or other group) together"],
] as const;

export function GuidedCreatePage({ project, kind }: { project: string; kind: string }) {
  const state = useLoad(async () => {
    const [deployments, groups, flags] = await Promise.all([
      api.get<Deployment[]>(`/projects/${project}/deployments`),
      api.get<StoredGroup[]>(`/projects/${project}/groups`),
      api.get<Flag[]>(`/projects/${project}/flags`),
    ]);
    return { deployments, groups, flags };
  }, [project]);
  if (kind !== "experiment" && kind !== "release")
    return <Banner kind="warning">There is a guide for an experiment or a release flag only.</Banner>;
  return <Loading state={state}>{(data) => <Guide key={kind} project={project} kind={kind} {...data} />}</Loading>;
}

function Guide({
  project,
  kind,
  deployments,
  groups,
  flags,
}: {
  project: string;
  kind: GuideKind;
  deployments: Deployment[];
  groups: StoredGroup[];
  flags: Flag[];
}) {
  const steps = GUIDES[kind];
  const [draft, setDraft] = useState<FlagInput>(() =>
    guidedDraft(kind, { ...newFlag(deployments), deployments: deployments.length === 1 ? [deployments[0]!.key] : [] }),
  );
  const [at, setAt] = useState(0);
  const [tried, setTried] = useState<Set<number>>(new Set());
  const [keyTyped, setKeyTyped] = useState(false);
  const [invalid, setInvalid] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<Flag | undefined>();
  const [busy, setBusy] = useState(false);
  const [, navigate] = useLocation();
  const heading = useRef<HTMLHeadingElement>(null);
  // A new screen: move focus to its title, so a keyboard or screen-reader user starts there.
  useEffect(() => heading.current?.focus(), [at]);

  const step = steps[at]!;
  const edit: Edit = (change) =>
    setDraft((current) => {
      const next = structuredClone(current);
      change(next);
      return next;
    });
  const markInvalid = (field: string, bad: boolean) =>
    setInvalid((current) => {
      const next = new Set(current);
      if (bad) next.add(field);
      else next.delete(field);
      return next;
    });
  const problems = guidedProblems(draft, new Set(flags.map((f) => f.key)));
  const here = stepProblems(step, problems);
  const blocked = Object.keys(here).length > 0 || (step.id === "variants" && invalid.size > 0);
  const next = () => {
    setTried((t) => new Set(t).add(at));
    if (!blocked) setAt(at + 1);
  };

  const finish = async (andGo: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const flag = created ?? (await api.post<Flag>(`/projects/${project}/flags`, draft));
      setCreated(flag);
      if (andGo)
        await api.post(
          `/projects/${project}/flags/${flag.key}/${kind === "experiment" ? "start" : "activate"}`,
          {},
          flag.version,
        );
      navigate(`/projects/${project}/flags/${flag.key}`);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const openFullEditor = () => {
    carryDraft(draft);
    navigate(`/projects/${project}/flags/new`);
  };

  return (
    <div class="guide" data-step={step.id}>
      <p class="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${project}`}>{project}</Link> /
      </p>
      <h1>{kind === "experiment" ? "New experiment" : "New release flag"}</h1>
      <ol class="steps" aria-label="Steps">
        {steps.map((s, i) => (
          <li
            key={s.id}
            class={i === at ? "current" : i < at ? "done" : ""}
            aria-current={i === at ? "step" : undefined}
          >
            {i + 1}.{" "}
            {i < at ? (
              <button type="button" class="link" onClick={() => setAt(i)}>
                {s.title}
              </button>
            ) : (
              s.title
            )}
          </li>
        ))}
      </ol>
      {/* noValidate: the draft's own checks (validate-draft.ts) speak, not the browser's bubbles. */}
      <form
        class="panel guide-step"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (step.id !== "review") next();
        }}
      >
        <h2 ref={heading} tabIndex={-1}>
          Step {at + 1} of {steps.length}: {step.title}
        </h2>
        <p class="advice">{step.advice}</p>
        <ProblemsContext.Provider value={{ problems, showAll: tried.has(at) }}>
          <StepFields
            id={step.id}
            project={project}
            kind={kind}
            draft={draft}
            edit={edit}
            deployments={deployments}
            groups={groups}
            flags={flags}
            markInvalid={markInvalid}
            keyTyped={keyTyped}
            onKeyTyped={() => setKeyTyped(true)}
          />
        </ProblemsContext.Provider>
        {tried.has(at) && blocked && (
          <Banner kind="error">
            Before going on, fix:{" "}
            {[...Object.keys(here).map(problemLabel), ...(step.id === "variants" ? invalid : [])].join(", ")}.
          </Banner>
        )}
        <ErrorBanner error={error} />
        <div class="actions">
          {at > 0 && (
            <button type="button" onClick={() => setAt(at - 1)}>
              Back
            </button>
          )}
          {step.id === "review" ? (
            <>
              <button
                type="button"
                class="primary"
                disabled={busy || Object.keys(problems).length > 0}
                onClick={() => finish(true)}
              >
                {kind === "experiment" ? "Create and start" : "Create and activate"}
              </button>
              <button type="button" disabled={busy || Object.keys(problems).length > 0} onClick={() => finish(false)}>
                {kind === "experiment" ? "Create as a draft" : "Create, inactive"}
              </button>
            </>
          ) : (
            <button type="submit" class="primary">
              Next: {steps[at + 1]!.title}
            </button>
          )}
          <button type="button" class="link" onClick={openFullEditor}>
            Open the full editor with what you entered
          </button>
        </div>
      </form>
    </div>
  );
}

function StepFields({
  id,
  project,
  kind,
  draft,
  edit,
  deployments,
  groups,
  flags,
  markInvalid,
  keyTyped,
  onKeyTyped,
}: {
  id: string;
  project: string;
  kind: GuideKind;
  draft: FlagInput;
  edit: Edit;
  deployments: Deployment[];
  groups: StoredGroup[];
  flags: Flag[];
  markInvalid: (field: string, bad: boolean) => void;
  keyTyped: boolean;
  onKeyTyped: () => void;
}) {
  const hypothesis = draft.hypothesis ?? { problem: "", proposedChange: "", predictedResult: "" };
  const setHypothesis = (field: keyof typeof hypothesis, value: string) =>
    edit((d) => void (d.hypothesis = { ...hypothesis, [field]: value }));
  switch (id) {
    case "hypothesis":
    case "name":
      return (
        <>
          <CheckedField
            problem="name"
            label="Name"
            value={draft.name}
            required
            onInput={(e) => {
              const name = e.currentTarget.value;
              edit((d) => {
                d.name = name;
                if (!keyTyped) d.key = keyFromName(name);
              });
            }}
          />
          <CheckedField
            problem="key"
            label="Key"
            hint="What your code asks the SDK for; made from the name until you type one"
            value={draft.key}
            required
            onInput={(e) => {
              onKeyTyped();
              edit((d) => void (d.key = e.currentTarget.value));
            }}
          />
          {id === "hypothesis" ? (
            <>
              <CheckedTextArea
                problem="hypothesis.problem"
                label="Problem"
                hint="What is wrong today, and how you know (for example: many users abandon the multi-step checkout)"
                rows={2}
                value={hypothesis.problem}
                onInput={(e) => setHypothesis("problem", e.currentTarget.value)}
              />
              <CheckedTextArea
                problem="hypothesis.proposedChange"
                label="Proposed change"
                hint="What the treatment does differently"
                rows={2}
                value={hypothesis.proposedChange}
                onInput={(e) => setHypothesis("proposedChange", e.currentTarget.value)}
              />
              <CheckedTextArea
                problem="hypothesis.predictedResult"
                label="Predicted result"
                hint="Which metric moves, which way"
                rows={2}
                value={hypothesis.predictedResult}
                onInput={(e) => setHypothesis("predictedResult", e.currentTarget.value)}
              />
            </>
          ) : (
            <CheckedTextArea
              problem="description"
              label="Description"
              rows={2}
              value={draft.description}
              onInput={(e) => edit((d) => void (d.description = e.currentTarget.value))}
            />
          )}
        </>
      );
    case "deployment": {
      const chosen = deployments.find((d) => draft.deployments.includes(d.key));
      return (
        <>
          {deployments.length === 0 ? (
            <Banner kind="warning">
              This project has no deployment yet: <Link href={`/projects/${project}/deployments`}>create one</Link>{" "}
              first.
            </Banner>
          ) : (
            <DeploymentsField draft={draft} edit={edit} deployments={deployments} />
          )}
          <GroupProblem problem="deployments" />
          {chosen && <QuickStart deployment={chosen} />}
        </>
      );
    }
    case "variants":
      return <VariantsEditor draft={draft} edit={edit} markInvalid={markInvalid} />;
    case "bucketing":
      return (
        <BucketingFields
          draft={draft}
          edit={edit}
          label="Randomize by"
          units={GUIDED_UNITS}
          groupTypeHint="For example company_id"
        />
      );
    case "allocation": {
      const units =
        draft.bucketing.unit === "device_id" ? "devices" : draft.bucketing.unit === "group" ? "groups" : "users";
      return (
        <>
          <RolloutSlider
            draft={draft}
            edit={edit}
            label={`${kind === "experiment" ? "In the experiment" : "Rollout"}: ${draft.rollout}% of ${units}`}
          />
          <VariantWeights draft={draft} edit={edit} label="Split between variants" onlyWhenSplit />
        </>
      );
    }
    case "targeting":
      return (
        <>
          <SegmentsEditor draft={draft} edit={edit} />
          <TargetingLists draft={draft} edit={edit} flags={flags} groups={groups} />
        </>
      );
    case "metrics":
      return (
        <ExperimentFields project={project} draft={draft} edit={edit} locked={false} isNew withHypothesis={false} />
      );
    default:
      return (
        <>
          <p>What you entered:</p>
          <ChangeList changes={setByNewFlag(changesBetween({}, draft), draft.type)} after={draft} />
        </>
      );
  }
}
