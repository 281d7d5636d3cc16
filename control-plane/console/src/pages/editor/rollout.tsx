/** Rollout, variant weights and bucketing (locked while an experiment runs). */
import { Field, Select } from "../../components.js";
import type { FlagInput } from "../../types.js";
import type { Edit } from "./draft.js";
import { CheckedField, GroupProblem } from "./problems.js";
import { WeightSliders } from "./weight-sliders.js";

export function RolloutFields({ draft, edit, locked }: { draft: FlagInput; edit: Edit; locked: boolean }) {
  return (
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
      <GroupProblem problem="weights" />
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
          <CheckedField
            problem="bucketing.groupType"
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
  );
}
