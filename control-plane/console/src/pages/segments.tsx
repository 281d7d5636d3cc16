/**
 * Reusable segments: the project's list (with the flags using each), and a form that creates or edits one with
 * the flag editor's condition rows. Flags name a segment in a targeting rule (the picker in editor/segments.tsx).
 */
import { useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { ConfirmButton, ErrorBanner, Field, Loading, TextArea, useAction, useLoad } from "../components.js";
import { useCan } from "../me.js";
import type { Condition, StoredSegment } from "../types.js";
import { ConditionRow } from "./editor/segments.js";

interface SegmentDraft {
  key: string;
  name: string;
  description: string;
  conditions: Condition[];
}

const blank = (): SegmentDraft => ({
  key: "",
  name: "",
  description: "",
  conditions: [{ property: "country", op: "is", values: [] }],
});

/** A condition as one line of the list: `plan is gold, beta` or `company_id.tier is not free`. */
const describe = (c: Condition) =>
  `${c.groupType ? `${c.groupType}.` : ""}${c.property} ${c.op} ${c.values.join(", ") || "(no values)"}`;

export function SegmentsTab({ project }: { project: string }) {
  const segments = useLoad(() => api.get<StoredSegment[]>(`/projects/${project}/segments`), [project]);
  const can = useCan();
  const [editing, setEditing] = useState<StoredSegment | undefined>();
  const [draft, setDraft] = useState<SegmentDraft>(blank);
  const { error, run } = useAction();
  const start = (segment: StoredSegment | undefined) => {
    setEditing(segment);
    setDraft(segment ? structuredClone({ ...segment }) : blank());
  };
  const done = () => {
    start(undefined);
    segments.reload();
  };
  const save = async (event: Event) => {
    event.preventDefault();
    const { key, name, description, conditions } = draft;
    const body = { key, name, description, conditions };
    if (
      await run(() =>
        editing
          ? api.put(`/projects/${project}/segments/${editing.key}`, body, editing.version)
          : api.post(`/projects/${project}/segments`, body),
      )
    )
      done();
  };
  const remove = async (segment: StoredSegment) => {
    if (await run(() => api.delete(`/projects/${project}/segments/${segment.key}`, segment.version))) done();
  };
  const setCondition = (i: number, next: Condition | undefined) =>
    setDraft((d) => ({
      ...d,
      conditions: next ? d.conditions.map((c, j) => (j === i ? next : c)) : d.conditions.filter((_, j) => j !== i),
    }));

  return (
    <section>
      <p class="hint">
        A segment is a named set of conditions (all must hold) that flags and experiments share: a targeting rule names
        it, and editing it here republishes every flag that uses it.
      </p>
      <Loading state={segments}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No segments yet.</p>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">Conditions (all must hold)</th>
                  <th scope="col">Used by</th>
                  <th scope="col">Version</th>
                  {can.edit && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.key}>
                    <td>
                      <strong>{s.name}</strong> <code>{s.key}</code>
                      {s.description && <div class="muted">{s.description}</div>}
                    </td>
                    <td>
                      <ul class="plain">
                        {s.conditions.map((c, i) => (
                          <li key={i}>{describe(c)}</li>
                        ))}
                      </ul>
                    </td>
                    <td>
                      {s.usedBy.length === 0 ? (
                        <span class="muted">no flag</span>
                      ) : (
                        <ul class="plain" aria-label={`Flags using ${s.key}`}>
                          {s.usedBy.map((flag) => (
                            <li key={flag}>
                              <Link href={`/projects/${project}/flags/${flag}`}>{flag}</Link>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>{s.version}</td>
                    {can.edit && (
                      <td>
                        <button type="button" class="small" onClick={() => start(s)}>
                          Edit {s.key}
                        </button>
                        {s.usedBy.length === 0 && (
                          <ConfirmButton
                            label={`Delete ${s.key}`}
                            question={`Delete segment ${s.key}? No flag uses it; its history stays readable.`}
                            confirmLabel="Delete segment"
                            onConfirm={() => remove(s)}
                            danger
                          />
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {can.edit && (
        <form class="panel" onSubmit={save} aria-label={editing ? `Edit segment ${editing.key}` : "New segment"}>
          <h2>{editing ? `Edit segment ${editing.key}` : "New segment"}</h2>
          {editing && editing.usedBy.length > 0 && (
            <p class="hint">Saving republishes {editing.usedBy.join(", ")} to their deployments.</p>
          )}
          <div class="row">
            <Field
              label="Segment key"
              value={draft.key}
              required
              disabled={editing !== undefined}
              onInput={(e) => setDraft({ ...draft, key: e.currentTarget.value })}
            />
            <Field
              label="Segment name"
              value={draft.name}
              required
              onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
            />
          </div>
          <TextArea
            label="Description"
            rows={2}
            value={draft.description}
            onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })}
          />
          <fieldset>
            <legend>Conditions (all must hold)</legend>
            {draft.conditions.map((condition, c) => (
              <ConditionRow
                key={c}
                index={c}
                at={`conditions.${c}`}
                condition={condition}
                onChange={(next) => setCondition(c, next)}
                onRemove={draft.conditions.length > 1 ? () => setCondition(c, undefined) : undefined}
              />
            ))}
            <button
              type="button"
              class="small"
              onClick={() =>
                setDraft((d) => ({
                  ...d,
                  conditions: [...d.conditions, { property: "country", op: "is", values: [] }],
                }))
              }
            >
              Add condition (and)
            </button>
          </fieldset>
          <div class="save-bar">
            <button type="submit" class="primary">
              {editing ? `Save as version ${editing.version + 1}` : "Create segment"}
            </button>
            {editing && (
              <button type="button" onClick={() => start(undefined)}>
                Cancel
              </button>
            )}
          </div>
          <ErrorBanner error={error} />
        </form>
      )}
    </section>
  );
}
