/**
 * The flag and experiment editor: every field of the authoring model, a diff preview before
 * saving, and a conflict view when someone else saved first (their change shown, mine
 * reapplied on top on request, never a silent overwrite).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { EXPERIMENT_FIELDS, FLAG_INPUT_FIELDS } from "../../../../shared/authoring/fields.js";
import { api, ApiFailure } from "../api.js";
import { Banner, ChangeList, ErrorBanner, Field, Loading, Select, TextArea, useLoad } from "../components.js";
import { applyChanges, changesBetween } from "../diff.js";
import type { Deployment, Flag, FlagInput, StoredGroup } from "../types.js";
import { ExperimentFields } from "./editor/experiment-fields.js";
import { SegmentsEditor } from "./editor/segments.js";
import { TargetingLists } from "./editor/targeting-lists.js";
import { VariantsEditor } from "./editor/variants.js";
import { WeightSliders } from "./editor/weight-sliders.js";

/** The fields an admin edits, from a stored flag (the server manages the rest). */
export const toInput = (flag: Flag | FlagInput): FlagInput =>
  Object.fromEntries(
    FLAG_INPUT_FIELDS.filter((field) => flag[field] !== undefined).map((field) => [
      field,
      structuredClone(flag[field]),
    ]),
  ) as FlagInput;

const newFlag = (deployments: Deployment[]): FlagInput => ({
  key: "",
  name: "",
  description: "",
  type: "release",
  variants: [{ key: "on" }],
  bucketing: { unit: "user_id" },
  rollout: 100,
  segments: [],
  inclusions: {},
  exclusions: { userIds: [], deviceIds: [] },
  prerequisites: [],
  groups: [],
  deployments: deployments.map((d) => d.key),
  secondaryMetrics: [],
  guardrailMetrics: [],
  statisticalMethod: "sequential",
  confidenceLevel: 0.95,
});

export type Edit = (change: (draft: FlagInput) => void) => void;

const EXPERIMENT_ONLY = new Set<string>(EXPERIMENT_FIELDS);
const isEmpty = (value: unknown) =>
  value === "" ||
  (Array.isArray(value) && value.length === 0) ||
  (value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every(isEmpty));

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
  const [draft, setDraft] = useState<FlagInput>(() => (flag ? toInput(flag) : newFlag(deployments)));
  const [invalid, setInvalid] = useState<Set<string>>(new Set());
  const [preview, setPreview] = useState(false);
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

  const changes = changesBetween(base ? toInput(base) : {}, draft);
  // A new flag's preview lists what was set, not every empty list and, for a release, no experiment settings.
  const shown = base
    ? changes
    : changes.filter(
        (change) =>
          !isEmpty("value" in change ? change.value : undefined) &&
          !(draft.type === "release" && EXPERIMENT_ONLY.has(String(change.path[0]))),
      );
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
      onSubmit={(e) => {
        e.preventDefault();
        setPreview(true);
      }}
    >
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

      <fieldset>
        <legend>Basics</legend>
        {!base && (
          <Field
            label="Key"
            value={draft.key}
            required
            hint="Letters, digits, . _ -; the SDKs use it"
            onInput={(e) => edit((d) => void (d.key = e.currentTarget.value))}
          />
        )}
        <Field
          label="Name"
          value={draft.name}
          required
          onInput={(e) => edit((d) => void (d.name = e.currentTarget.value))}
        />
        <TextArea
          label="Description"
          rows={2}
          value={draft.description}
          onInput={(e) => edit((d) => void (d.description = e.currentTarget.value))}
        />
        {!base && (
          <Select
            label="Type"
            value={draft.type}
            options={
              [
                ["release", "Release flag"],
                ["experiment", "Experiment"],
              ] as const
            }
            onChange={(type) => edit((d) => void (d.type = type))}
          />
        )}
      </fieldset>

      <VariantsEditor draft={draft} edit={edit} markInvalid={markInvalid} />

      <fieldset>
        <legend>Rollout and split</legend>
        <label class="field slider">
          <span class="field-label">Rollout: {draft.rollout}% of users who reach the default rule</span>
          <input
            type="range"
            min={0}
            max={100}
            step={1}
            value={draft.rollout}
            onInput={(e) => edit((d) => void (d.rollout = Number(e.currentTarget.value)))}
          />
        </label>
        <WeightSliders
          label="Variant weights"
          variants={draft.variants.map((v) => v.key)}
          weights={draft.weights}
          onChange={(weights) => edit((d) => (weights ? void (d.weights = weights) : delete d.weights))}
        />
        <div class="row">
          <Select
            label="Bucket by"
            value={draft.bucketing.unit}
            options={
              [
                ["user_id", "User ID"],
                ["device_id", "Device ID"],
                ["group", "Group"],
              ] as const
            }
            onChange={(unit) => edit((d) => void (d.bucketing = { ...d.bucketing, unit }))}
            disabled={locked}
          />
          {draft.bucketing.unit === "group" && (
            <Field
              label="Group type"
              value={draft.bucketing.groupType ?? ""}
              disabled={locked}
              onInput={(e) => edit((d) => void (d.bucketing.groupType = e.currentTarget.value || undefined))}
            />
          )}
          <Field
            label="Salt"
            hint="Defaults to the key; changing it reshuffles everyone"
            value={draft.bucketing.salt ?? ""}
            disabled={locked}
            onInput={(e) =>
              edit((d) =>
                e.currentTarget.value ? void (d.bucketing.salt = e.currentTarget.value) : delete d.bucketing.salt,
              )
            }
          />
        </div>
      </fieldset>

      <SegmentsEditor draft={draft} edit={edit} />
      <TargetingLists draft={draft} edit={edit} flags={flags.filter((f) => f.key !== draft.key)} groups={groups} />

      <fieldset>
        <legend>Deployments</legend>
        <p class="hint">The flag is served on the deployments checked here.</p>
        {deployments.map((dep) => (
          <label key={dep.key} class="check">
            <input
              type="checkbox"
              checked={draft.deployments.includes(dep.key)}
              onChange={(e) =>
                edit(
                  (d) =>
                    void (d.deployments = e.currentTarget.checked
                      ? [...d.deployments, dep.key]
                      : d.deployments.filter((k) => k !== dep.key)),
                )
              }
            />
            {dep.name} <code>{dep.key}</code>
          </label>
        ))}
      </fieldset>

      {experiment && <ExperimentFields project={project} draft={draft} edit={edit} locked={locked} />}

      <div class="save-bar">
        <ErrorBanner error={error} />
        {invalid.size > 0 && <Banner kind="error">Fix the highlighted fields first: {[...invalid].join(", ")}.</Banner>}
        {preview ? (
          <div class="panel preview">
            <h2>Review your changes</h2>
            <ChangeList changes={shown} />
            <div class="actions">
              <button
                type="button"
                class="primary"
                disabled={saving || invalid.size > 0 || (base !== undefined && changes.length === 0)}
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
    </form>
  );
}
