/**
 * The flag and experiment editor: every field of the authoring model, a diff preview before
 * saving, and a conflict view when someone else saved first (their change shown, mine
 * reapplied on top on request, never a silent overwrite).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { api, ApiFailure } from "../api.js";
import { Banner, ChangeList, ErrorBanner, Loading, useLoad } from "../components.js";
import { applyChanges, changesBetween } from "../diff.js";
import type { Deployment, Flag, FlagInput, StoredGroup } from "../types.js";
import { BasicsFields } from "./editor/basics.js";
import { DeploymentsField } from "./editor/deployments.js";
import { newFlag, setByNewFlag, takeCarriedDraft, toInput, type Edit } from "./editor/draft.js";
import { ExperimentFields } from "./editor/experiment-fields.js";
import { SegmentsEditor } from "./editor/segments.js";
import { TargetingLists } from "./editor/targeting-lists.js";
import { VariantsEditor } from "./editor/variants.js";
import { RolloutFields } from "./editor/rollout.js";
import { ProblemsContext } from "./editor/problems.js";
import { draftProblems, problemLabel } from "../validate-draft.js";

export function FlagEditorPage({ project, flagKey }: { project: string; flagKey?: string }) {
  const state = useLoad(async () => {
    const [flag, deployments, groups, flags] = await Promise.all([
      flagKey ? api.get<Flag>(`/projects/${project}/flags/${flagKey}`) : Promise.resolve(undefined),
      api.get<Deployment[]>(`/projects/${project}/deployments`),
      api.get<StoredGroup[]>(`/projects/${project}/groups`),
      api.get<Flag[]>(`/projects/${project}/flags`),
    ]);
    return { flag, deployments, groups, flags };
  }, [project, flagKey]);
  return <Loading state={state}>{(data) => <Editor project={project} {...data} />}</Loading>;
}

interface Conflict {
  theirs: Flag;
  theirChanges: ReturnType<typeof changesBetween>;
  myChanges: ReturnType<typeof changesBetween>;
}

function Editor({
  project,
  flag,
  deployments,
  groups,
  flags,
}: {
  project: string;
  flag: Flag | undefined;
  deployments: Deployment[];
  groups: StoredGroup[];
  flags: Flag[];
}) {
  const [base, setBase] = useState<Flag | undefined>(flag);
  const [draft, setDraft] = useState<FlagInput>(() =>
    flag ? toInput(flag) : (takeCarriedDraft() ?? newFlag(deployments)),
  );
  const [invalid, setInvalid] = useState<Set<string>>(new Set());
  const [preview, setPreview] = useState(false);
  // After a first Review every problem shows, touched or not.
  const [showAll, setShowAll] = useState(false);
  const [conflict, setConflict] = useState<Conflict | undefined>();
  const [error, setError] = useState<unknown>();
  const [saving, setSaving] = useState(false);
  const [, navigate] = useLocation();
  // The save button is at the bottom: bring the conflict (at the top) into view when it appears.
  const conflictPanel = useRef<HTMLDivElement>(null);
  useEffect(() => conflictPanel.current?.scrollIntoView({ block: "start" }), [conflict]);

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

  // A new flag's key must be new; an edited one keeps its own.
  const problems = draftProblems(draft, new Set(base ? [] : flags.map((f) => f.key)));
  const problemFields = Object.keys(problems);
  const blocked = invalid.size > 0 || problemFields.length > 0;
  const changes = changesBetween(base ? toInput(base) : {}, draft);
  // A new flag's preview lists what was set, not every empty list and, for a release, no experiment settings.
  const shown = base ? changes : setByNewFlag(changes, draft.type);
  const experiment = draft.type === "experiment";
  const locked = base?.type === "experiment" && base.status === "running";

  const save = async () => {
    setSaving(true);
    setError(undefined);
    try {
      const saved = base
        ? await api.put<Flag>(`/projects/${project}/flags/${base.key}`, draft, base.version)
        : await api.post<Flag>(`/projects/${project}/flags`, draft);
      navigate(`/projects/${project}/flags/${saved.key}`);
    } catch (failure) {
      if (
        base &&
        failure instanceof ApiFailure &&
        failure.status === 409 &&
        failure.code === "conflict" &&
        (failure.details as { currentVersion?: number } | undefined)?.currentVersion
      ) {
        const theirs = await api.get<Flag>(`/projects/${project}/flags/${base.key}`);
        setConflict({
          theirs,
          theirChanges: changesBetween(toInput(base), toInput(theirs)),
          myChanges: changesBetween(toInput(base), draft),
        });
        setPreview(false);
      } else {
        setError(failure);
      }
    } finally {
      setSaving(false);
    }
  };

  const reapplyMine = () => {
    if (!conflict) return;
    setDraft(applyChanges(toInput(conflict.theirs), conflict.myChanges));
    setBase(conflict.theirs);
    setConflict(undefined);
    setPreview(true);
  };
  const takeTheirs = () => {
    if (!conflict) return;
    setDraft(toInput(conflict.theirs));
    setBase(conflict.theirs);
    setConflict(undefined);
  };

  return (
    <form
      class="editor"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        setShowAll(true);
        if (!blocked) setPreview(true);
      }}
    >
      <ProblemsContext.Provider value={{ problems, showAll }}>
        <p class="crumbs">
          <Link href="/">Projects</Link> / <Link href={`/projects/${project}`}>{project}</Link> /{" "}
          {base && <Link href={`/projects/${project}/flags/${base.key}`}>{base.key}</Link>}
        </p>
        <h1>{base ? `Edit ${base.name}` : "New flag or experiment"}</h1>
        {base && <p class="muted">Editing version {base.version}. Nothing changes until you review and save.</p>}

        {conflict && (
          <div class="panel conflict" role="alert" tabIndex={-1} ref={conflictPanel}>
            <h2>Someone else saved while you were editing</h2>
            <p>
              {conflict.theirs.lastChange.actor} saved version {conflict.theirs.version} (
              {conflict.theirs.lastChange.action}). Their change:
            </p>
            <ChangeList changes={conflict.theirChanges} empty="No field changed (only the version)." />
            <p>Your change:</p>
            <ChangeList changes={conflict.myChanges} />
            <div class="actions">
              <button type="button" class="primary" onClick={reapplyMine}>
                Reapply my changes on top of theirs
              </button>
              <button type="button" onClick={takeTheirs}>
                Discard mine, edit theirs
              </button>
            </div>
          </div>
        )}

        <BasicsFields draft={draft} edit={edit} isNew={!base} />
        <VariantsEditor draft={draft} edit={edit} markInvalid={markInvalid} />
        <RolloutFields draft={draft} edit={edit} locked={locked} />

        <SegmentsEditor draft={draft} edit={edit} />
        <TargetingLists draft={draft} edit={edit} flags={flags.filter((f) => f.key !== draft.key)} groups={groups} />
        <DeploymentsField draft={draft} edit={edit} deployments={deployments} />

        {experiment && <ExperimentFields project={project} draft={draft} edit={edit} locked={locked} isNew={!base} />}

        <div class="save-bar">
          <ErrorBanner error={error} />
          {invalid.size > 0 && (
            <Banner kind="error">Fix the highlighted fields first: {[...invalid].join(", ")}.</Banner>
          )}
          {showAll && problemFields.length > 0 && (
            <Banner kind="error">
              Fix the highlighted fields first: {problemFields.map(problemLabel).join(", ")}.
            </Banner>
          )}
          {preview ? (
            <div class="panel preview">
              <h2>Review your changes</h2>
              <ChangeList changes={shown} after={draft} before={base} />
              <div class="actions">
                <button
                  type="button"
                  class="primary"
                  disabled={saving || blocked || (base !== undefined && changes.length === 0)}
                  onClick={save}
                >
                  {base ? `Save as version ${base.version + 1}` : "Create"}
                </button>
                <button type="button" onClick={() => setPreview(false)}>
                  Keep editing
                </button>
              </div>
            </div>
          ) : (
            <div class="actions">
              <button type="submit" class="primary" disabled={invalid.size > 0} data-changes={changes.length}>
                Review changes ({changes.length})
              </button>
              {base && (
                <Link href={`/projects/${project}/flags/${base.key}`} class="button">
                  Cancel
                </Link>
              )}
            </div>
          )}
        </div>
      </ProblemsContext.Provider>
    </form>
  );
}
