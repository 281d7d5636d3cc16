/**
 * Rollout, variant weights and bucketing (locked while an experiment runs): the full editor's
 * fieldset, and its parts, which the guided flow shows one step at a time in its own words.
 */
import { Field, Select } from "../../components.js";
import type { FlagInput } from "../../types.js";
import type { Edit } from "./draft.js";
import { CheckedField, GroupProblem } from "./problems.js";
import { WeightSliders } from "./weight-sliders.js";

type Parts = { draft: FlagInput; edit: Edit };
type Unit = FlagInput["bucketing"]["unit"];

/** The share of units that get a variant; `label` says what it is, with the figure. */
export function RolloutSlider({ draft, edit, label }: Parts & { label: string }) {
  return (
    <label class="field slider">
      <span class="field-label">{label}</span>
      <input
        type="range"
        min={0}
        max={100}
        step={1}
        value={draft.rollout}
        onInput={(e) => edit((d) => void (d.rollout = Number(e.currentTarget.value)))}
      />
    </label>
  );
}

/** The split between variants and its problem; `onlyWhenSplit` hides the sliders for a single variant. */
export function VariantWeights({
  draft,
  edit,
  label,
  onlyWhenSplit = false,
}: Parts & { label: string; onlyWhenSplit?: boolean }) {
  return (
    <>
      {(!onlyWhenSplit || draft.variants.length > 1) && (
        <WeightSliders
          label={label}
          variants={draft.variants.map((v) => v.key)}
          weights={draft.weights}
          onChange={(weights) => edit((d) => (weights ? void (d.weights = weights) : delete d.weights))}
        />
      )}
      <GroupProblem problem="weights" />
    </>
  );
}

const UNITS: ReadonlyArray<readonly [Unit, string]> = [
  ["user_id", "User ID"],
  ["device_id", "Device ID"],
  ["group", "Group"],
];

/** What is bucketed (a group's type with it), and the salt where `withSalt`. */
export function BucketingFields({
  draft,
  edit,
  locked = false,
  label = "Bucket by",
  units = UNITS,
  groupTypeHint,
  withSalt = false,
}: Parts & {
  locked?: boolean;
  label?: string;
  units?: ReadonlyArray<readonly [Unit, string]>;
  groupTypeHint?: string;
  withSalt?: boolean;
}) {
  return (
    <div class="row">
      <Select
        label={label}
        value={draft.bucketing.unit}
        options={units}
        onChange={(unit) => edit((d) => void (d.bucketing = { ...d.bucketing, unit }))}
        disabled={locked}
      />
      {draft.bucketing.unit === "group" && (
        <CheckedField
          problem="bucketing.groupType"
          label="Group type"
          {...(groupTypeHint ? { hint: groupTypeHint } : {})}
          value={draft.bucketing.groupType ?? ""}
          disabled={locked}
          onInput={(e) => edit((d) => void (d.bucketing.groupType = e.currentTarget.value || undefined))}
        />
      )}
      {withSalt && (
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
      )}
    </div>
  );
}

export function RolloutFields({ draft, edit, locked }: Parts & { locked: boolean }) {
  return (
    <fieldset>
      <legend>Rollout and split</legend>
      <RolloutSlider
        draft={draft}
        edit={edit}
        label={`Rollout: ${draft.rollout}% of users who reach the default rule`}
      />
      <VariantWeights draft={draft} edit={edit} label="Variant weights" />
      <BucketingFields draft={draft} edit={edit} locked={locked} withSalt />
    </fieldset>
  );
}
