/** Mutual-exclusion groups and holdouts: project resources that flags join in their editor. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBanner, Field, Loading, Select, useAction, useLoad } from "../components.js";
import { useCan } from "../me.js";
import type { StoredGroup } from "../types.js";

export function GroupsTab({ project }: { project: string }) {
  const groups = useLoad(() => api.get<StoredGroup[]>(`/projects/${project}/groups`), [project]);
  const can = useCan();
  const [key, setKey] = useState("");
  const [kind, setKind] = useState<"mutex" | "holdout">("mutex");
  const [percentage, setPercentage] = useState(5);
  const [description, setDescription] = useState("");
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (
      await run(() =>
        api.put(`/projects/${project}/groups/${key}`, {
          kind,
          percentage: kind === "holdout" ? percentage : 0,
          description,
        }),
      )
    ) {
      setKey("");
      groups.reload();
    }
  };
  return (
    <section>
      <Loading state={groups}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">
              No groups. A mutual-exclusion group splits users between its experiments; a holdout keeps a share of users
              out of all of them.
            </p>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Group</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Held out</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {list.map((g) => (
                  <tr key={g.key}>
                    <td>
                      <code>{g.key}</code>
                    </td>
                    <td>{g.kind === "mutex" ? "mutual exclusion" : "holdout"}</td>
                    <td>{g.kind === "holdout" ? `${g.percentage}%` : "—"}</td>
                    <td>{g.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
      {can.edit && (
        <form class="panel inline-form" onSubmit={submit}>
          <h2>New group</h2>
          <Field label="Group key" value={key} required onInput={(e) => setKey(e.currentTarget.value)} />
          <Select
            label="Kind"
            value={kind}
            options={
              [
                ["mutex", "Mutual exclusion"],
                ["holdout", "Holdout"],
              ] as const
            }
            onChange={setKind}
          />
          {kind === "holdout" && (
            <Field
              label="Percent held out"
              type="number"
              min={0}
              max={50}
              value={percentage}
              onInput={(e) => setPercentage(Number(e.currentTarget.value))}
            />
          )}
          <Field label="Description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          <button type="submit" class="primary">
            Create group
          </button>
          <ErrorBanner error={error} />
        </form>
      )}
    </section>
  );
}
