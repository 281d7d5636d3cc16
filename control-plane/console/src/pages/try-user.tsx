/** Try a user: what every flag of a deployment serves them and why, with the edge's engine. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBanner, Field, Loading, Select, TextArea, useAction, useLoad } from "../components.js";
import type { Deployment, Evaluation } from "../types.js";

/** `name=value` lines → an object (values stay strings, as user properties usually are). */
function pairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

export function TryUserTab({ project }: { project: string }) {
  const deployments = useLoad(() => api.get<Deployment[]>(`/projects/${project}/deployments`), [project]);
  return (
    <Loading state={deployments}>
      {(list) =>
        list.length === 0 ? (
          <p class="muted">Create a deployment first.</p>
        ) : (
          <TryUser project={project} deployments={list} />
        )
      }
    </Loading>
  );
}

function TryUser({ project, deployments }: { project: string; deployments: Deployment[] }) {
  const [deployment, setDeployment] = useState(deployments[0]!.key);
  const [userId, setUserId] = useState("");
  const [deviceId, setDeviceId] = useState("");
  const [country, setCountry] = useState("");
  const [platform, setPlatform] = useState("");
  const [properties, setProperties] = useState("");
  const [groups, setGroups] = useState("");
  const [result, setResult] = useState<Record<string, Evaluation> | undefined>();
  const { error, run } = useAction();

  const submit = async (event: Event) => {
    event.preventDefault();
    const groupLists = Object.fromEntries(Object.entries(pairs(groups)).map(([type, name]) => [type, [name]]));
    const user = {
      ...(userId ? { user_id: userId } : {}),
      ...(deviceId ? { device_id: deviceId } : {}),
      ...(country ? { country } : {}),
      ...(platform ? { platform } : {}),
      ...(properties.trim() ? { user_properties: pairs(properties) } : {}),
      ...(groups.trim() ? { groups: groupLists } : {}),
    };
    await run(async () =>
      setResult(
        await api.post<Record<string, Evaluation>>(`/projects/${project}/deployments/${deployment}/evaluate`, user),
      ),
    );
  };

  return (
    <section class="two-columns">
      <form class="panel" onSubmit={submit}>
        <Select
          label="Deployment"
          value={deployment}
          options={deployments.map((d) => [d.key, d.name] as const)}
          onChange={setDeployment}
        />
        <Field label="User ID" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        <Field label="Device ID" value={deviceId} onInput={(e) => setDeviceId(e.currentTarget.value)} />
        <Field label="Country" value={country} onInput={(e) => setCountry(e.currentTarget.value)} />
        <Field label="Platform" value={platform} onInput={(e) => setPlatform(e.currentTarget.value)} />
        <TextArea
          label="User properties"
          hint="One name=value per line"
          rows={3}
          value={properties}
          onInput={(e) => setProperties(e.currentTarget.value)}
        />
        <TextArea
          label="Groups"
          hint="One type=name per line, e.g. company=acme"
          rows={2}
          value={groups}
          onInput={(e) => setGroups(e.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Evaluate
        </button>
        <ErrorBanner error={error} />
      </form>
      {result && (
        <table class="list evaluation">
          <thead>
            <tr>
              <th scope="col">Flag</th>
              <th scope="col">Variant</th>
              <th scope="col">Why</th>
              <th scope="col">Payload</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(result).map(([flag, evaluation]) => (
              <tr key={flag} data-flag={flag}>
                <td>
                  <code>{flag}</code>
                </td>
                <td>{evaluation.variant ?? <span class="muted">off (no variant)</span>}</td>
                <td>
                  {evaluation.reason}
                  {evaluation.segment && <div class="muted">segment: {evaluation.segment}</div>}
                </td>
                <td>{evaluation.payload === undefined ? "—" : <code>{JSON.stringify(evaluation.payload)}</code>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
