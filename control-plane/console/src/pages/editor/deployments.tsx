/** The deployments that serve the flag. */
import type { Deployment, FlagInput } from "../../types.js";
import type { Edit } from "./draft.js";

export function DeploymentsField({
  draft,
  edit,
  deployments,
}: {
  draft: FlagInput;
  edit: Edit;
  deployments: Deployment[];
}) {
  return (
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
  );
}
