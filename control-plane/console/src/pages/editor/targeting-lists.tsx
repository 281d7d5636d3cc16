/** Inclusions, exclusions, prerequisites and group membership. */
import { Field, TextArea } from "../../components.js";
import type { Flag, FlagInput, StoredGroup } from "../../types.js";
import type { Edit } from "./draft.js";

const lines = (text: string) =>
  text
    .split("\n")
    .map((v) => v.trim())
    .filter((v) => v !== "");

export function TargetingLists({
  draft,
  edit,
  flags,
  groups,
}: {
  draft: FlagInput;
  edit: Edit;
  flags: Flag[];
  groups: StoredGroup[];
}) {
  const included = (variant: string) => draft.inclusions[variant] ?? { userIds: [], deviceIds: [] };
  const setIncluded = (variant: string, field: "userIds" | "deviceIds", text: string) =>
    edit((d) => {
      const next = { ...included(variant), [field]: lines(text) };
      if (next.userIds.length === 0 && next.deviceIds.length === 0) delete d.inclusions[variant];
      else d.inclusions[variant] = next;
    });
  return (
    <>
      <fieldset>
        <legend>Inclusions and exclusions</legend>
        <p class="hint">Listed users and devices always get that variant (or, excluded, none), before any targeting.</p>
        {draft.variants.map((v) => (
          <div class="row" key={v.key}>
            <TextArea
              label={`User IDs always in ${v.key}`}
              rows={2}
              value={included(v.key).userIds.join("\n")}
              onInput={(e) => setIncluded(v.key, "userIds", e.currentTarget.value)}
            />
            <TextArea
              label={`Device IDs always in ${v.key}`}
              rows={2}
              value={included(v.key).deviceIds.join("\n")}
              onInput={(e) => setIncluded(v.key, "deviceIds", e.currentTarget.value)}
            />
          </div>
        ))}
        <div class="row">
          <TextArea
            label="Excluded user IDs"
            rows={2}
            value={draft.exclusions.userIds.join("\n")}
            onInput={(e) => edit((d) => void (d.exclusions.userIds = lines(e.currentTarget.value)))}
          />
          <TextArea
            label="Excluded device IDs"
            rows={2}
            value={draft.exclusions.deviceIds.join("\n")}
            onInput={(e) => edit((d) => void (d.exclusions.deviceIds = lines(e.currentTarget.value)))}
          />
        </div>
      </fieldset>

      <fieldset>
        <legend>Prerequisites</legend>
        <p class="hint">Served only to users for whom another flag resolves to one of the listed variants.</p>
        {draft.prerequisites.map((p, i) => (
          <div class="row" key={i}>
            <label class="field">
              <span class="field-label">Prerequisite flag</span>
              <select
                value={p.flagKey}
                onChange={(e) => edit((d) => void (d.prerequisites[i]!.flagKey = e.currentTarget.value))}
              >
                {flags.map((f) => (
                  <option key={f.key} value={f.key}>
                    {f.key}
                  </option>
                ))}
              </select>
            </label>
            <Field
              label="Required variants"
              hint="Comma-separated"
              value={p.variants.join(", ")}
              onInput={(e) =>
                edit(
                  (d) =>
                    void (d.prerequisites[i]!.variants = e.currentTarget.value
                      .split(",")
                      .map((s) => s.trim())
                      .filter(Boolean)),
                )
              }
            />
            <button type="button" class="small danger" onClick={() => edit((d) => void d.prerequisites.splice(i, 1))}>
              Remove prerequisite
            </button>
          </div>
        ))}
        {flags.length > 0 && (
          <button
            type="button"
            onClick={() =>
              edit((d) => void d.prerequisites.push({ flagKey: flags[0]!.key, variants: [flags[0]!.variants[0]!.key] }))
            }
          >
            Add prerequisite
          </button>
        )}
      </fieldset>

      <fieldset>
        <legend>Mutual-exclusion groups and holdouts</legend>
        {groups.length === 0 && <p class="hint">The project has no groups (create them under "Groups & holdouts").</p>}
        {groups.map((g) => (
          <label key={g.key} class="check">
            <input
              type="checkbox"
              checked={draft.groups.includes(g.key)}
              onChange={(e) =>
                edit(
                  (d) =>
                    void (d.groups = e.currentTarget.checked
                      ? [...d.groups, g.key]
                      : d.groups.filter((k) => k !== g.key)),
                )
              }
            />
            <code>{g.key}</code> {g.kind === "holdout" ? `holdout of ${g.percentage}%` : "mutual exclusion"}
          </label>
        ))}
      </fieldset>
    </>
  );
}
