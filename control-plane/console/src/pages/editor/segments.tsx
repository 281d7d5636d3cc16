/** Targeting segments: a condition builder over every operator and property kind. */
import { OPERATORS } from "../../../../../shared/evaluation/operators.js";
import { USER_FIELDS } from "../../../../../shared/evaluation/context.js";
import { Link, useLocation } from "wouter-preact";
import { api } from "../../api.js";
import { Select, useLoad } from "../../components.js";
import type { Condition, FlagInput, StoredSegment } from "../../types.js";
import type { Edit } from "./draft.js";
import { CheckedField, CheckedTextArea, GroupProblem } from "./problems.js";
import { WeightSliders } from "./weight-sliders.js";

type Kind = "user" | "user_property" | "group_property";
const kindOf = (c: Condition): Kind =>
  c.groupType !== undefined ? "group_property" : USER_FIELDS.has(c.property) ? "user" : "user_property";
const FIELDS = [...USER_FIELDS].sort();
const lines = (text: string) =>
  text
    .split("\n")
    .map((v) => v.trim())
    .filter((v) => v !== "");

/** The project of the page the editor is on (`/projects/<p>/…`): whose segments the picker offers. */
const projectOf = (location: string) => /^\/projects\/([^/]+)/.exec(location)?.[1];

export function SegmentsEditor({ draft, edit }: { draft: FlagInput; edit: Edit }) {
  const [location] = useLocation();
  const project = projectOf(location);
  const shared = useLoad(
    () => (project ? api.get<StoredSegment[]>(`/projects/${project}/segments`) : Promise.resolve([])),
    [project],
  );
  const known = shared.data ?? [];
  return (
    <fieldset>
      <legend>Targeting segments</legend>
      <p class="hint">
        Checked in order; the first segment a user matches decides. Users matching none get the default rollout above.
      </p>
      {draft.segments.map((segment, s) => (
        <fieldset class="segment" key={s} data-segment-index={s}>
          <legend>Segment {s + 1}</legend>
          <div class="row">
            <CheckedField
              problem={`segments.${s}.name`}
              label="Segment name"
              value={segment.name}
              required
              onInput={(e) => edit((d) => void (d.segments[s]!.name = e.currentTarget.value))}
            />
            <label class="field slider">
              <span class="field-label">Segment rollout: {segment.rollout}%</span>
              <input
                type="range"
                min={0}
                max={100}
                value={segment.rollout}
                onInput={(e) => edit((d) => void (d.segments[s]!.rollout = Number(e.currentTarget.value)))}
              />
            </label>
          </div>
          <SegmentPicker
            project={project}
            index={s}
            value={segment.segment}
            segments={known}
            onChange={(key) => edit((d) => (key ? void (d.segments[s]!.segment = key) : delete d.segments[s]!.segment))}
          />
          {segment.conditions.map((condition, c) => (
            <ConditionRow
              key={c}
              index={c}
              at={`segments.${s}.conditions.${c}`}
              condition={condition}
              onChange={(next) => edit((d) => void (d.segments[s]!.conditions[c] = next))}
              onRemove={
                segment.conditions.length > 1 || segment.segment
                  ? () => edit((d) => void d.segments[s]!.conditions.splice(c, 1))
                  : undefined
              }
            />
          ))}
          <button
            type="button"
            class="small"
            onClick={() =>
              edit((d) => void d.segments[s]!.conditions.push({ property: "country", op: "is", values: [] }))
            }
          >
            Add condition (and)
          </button>
          <WeightSliders
            label="Segment weights"
            variants={draft.variants.map((v) => v.key)}
            weights={segment.weights}
            onChange={(weights) =>
              edit((d) => (weights ? void (d.segments[s]!.weights = weights) : delete d.segments[s]!.weights))
            }
          />
          <GroupProblem problem={`segments.${s}.weights`} />
          <div class="actions">
            {s > 0 && (
              <button
                type="button"
                class="small"
                onClick={() => edit((d) => void d.segments.splice(s - 1, 0, ...d.segments.splice(s, 1)))}
              >
                Move up
              </button>
            )}
            <button type="button" class="small danger" onClick={() => edit((d) => void d.segments.splice(s, 1))}>
              Remove segment {segment.name}
            </button>
          </div>
        </fieldset>
      ))}
      <button
        type="button"
        onClick={() =>
          edit(
            (d) =>
              void d.segments.push({
                name: `Segment ${d.segments.length + 1}`,
                conditions: [{ property: "country", op: "is", values: [] }],
                rollout: 100,
              }),
          )
        }
      >
        Add segment
      </button>
    </fieldset>
  );
}

/** A rule's project segment (`segment`): its conditions hold too, resolved when the flag is published. */
function SegmentPicker({
  project,
  index,
  value,
  segments,
  onChange,
}: {
  project: string | undefined;
  index: number;
  value: string | undefined;
  segments: StoredSegment[];
  onChange: (key: string | undefined) => void;
}) {
  const chosen = segments.find((s) => s.key === value);
  const options: Array<readonly [string, string]> = [
    ["", "None: only the conditions below"],
    ...segments.map((s) => [s.key, `${s.name} (${s.key})`] as const),
    ...(value && !chosen ? [[value, `${value} (not found)`] as const] : []),
  ];
  return (
    <div class="segment-picker" data-segment-picker={index}>
      <Select
        label={`Segment ${index + 1}: project segment`}
        value={value ?? ""}
        options={options}
        onChange={(key) => onChange(key || undefined)}
      />
      {chosen && (
        <p class="hint">
          Users in <Link href={`/projects/${project}/segments`}>{chosen.name}</Link>:{" "}
          {chosen.conditions
            .map((c) => `${c.groupType ? `${c.groupType}.` : ""}${c.property} ${c.op} ${c.values.join(", ")}`)
            .join("; and ")}{" "}
          — and the conditions below, if any.
        </p>
      )}
    </div>
  );
}

/** One condition: property kind, field or property, operator, values (the Segments page edits the same rows). */
export function ConditionRow({
  index,
  at,
  condition,
  onChange,
  onRemove,
}: {
  index: number;
  /** The condition's field id, for its problems (`segments.0.conditions.1`). */
  at: string;
  condition: Condition;
  onChange: (next: Condition) => void;
  onRemove: (() => void) | undefined;
}) {
  const kind = kindOf(condition);
  const setKind = (next: Kind) => {
    if (next === "user") onChange({ property: "country", op: condition.op, values: condition.values });
    else if (next === "user_property") onChange({ property: "", op: condition.op, values: condition.values });
    else onChange({ property: "", groupType: "", op: condition.op, values: condition.values });
  };
  return (
    <div class="condition row" data-condition-index={index}>
      <Select
        label={`Condition ${index + 1}: property kind`}
        value={kind}
        options={
          [
            ["user", "User field"],
            ["user_property", "User property"],
            ["group_property", "Group property"],
          ] as const
        }
        onChange={setKind}
      />
      {kind === "group_property" && (
        <CheckedField
          problem={`${at}.groupType`}
          label="Group type"
          value={condition.groupType ?? ""}
          required
          onInput={(e) => onChange({ ...condition, groupType: e.currentTarget.value })}
        />
      )}
      {kind === "user" ? (
        <Select
          label="Field"
          value={condition.property}
          options={FIELDS}
          onChange={(property) => onChange({ ...condition, property })}
        />
      ) : (
        <CheckedField
          problem={`${at}.property`}
          label={kind === "group_property" ? "Group property" : "User property"}
          hint={kind === "group_property" ? "group_name for the group's name" : undefined}
          value={condition.property}
          required
          onInput={(e) => onChange({ ...condition, property: e.currentTarget.value })}
        />
      )}
      <Select
        label="Operator"
        value={condition.op}
        options={OPERATORS as string[]}
        onChange={(op) => onChange({ ...condition, op })}
      />
      <CheckedTextArea
        problem={`${at}.values`}
        label="Values"
        hint="One per line"
        rows={2}
        value={condition.values.join("\n")}
        onInput={(e) => onChange({ ...condition, values: lines(e.currentTarget.value) })}
      />
      {onRemove && (
        <button type="button" class="small danger" onClick={onRemove}>
          Remove condition
        </button>
      )}
    </div>
  );
}
