/** Deployments: their client and server keys (copyable), replication to the edge, rotation. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import {
  Banner,
  ConfirmButton,
  CopyButton,
  ErrorBanner,
  Field,
  Loading,
  useAction,
  useLoad,
  when,
} from "../components.js";
import { useCan } from "../me.js";
import type { Deployment } from "../types.js";
import { QuickStart } from "./quick-start.js";

export function DeploymentsTab({ project }: { project: string }) {
  const deployments = useLoad(() => api.get<Deployment[]>(`/projects/${project}/deployments`), [project]);
  const can = useCan();
  const { error, run } = useAction();
  const act = (work: () => Promise<unknown>) => async () => void ((await run(work)) && deployments.reload());
  return (
    <section>
      <ErrorBanner error={error} />
      <Loading state={deployments}>
        {(list) => (
          <ul class="cards">
            {list.length === 0 && <p class="muted">No deployments yet: flags are served on a deployment's keys.</p>}
            {list.map((d) => (
              <li key={d.key} class="card deployment" data-deployment={d.key}>
                <h2>
                  {d.name} <code>{d.key}</code>
                </h2>
                <KeyRow label="Client key" hint="for browsers and apps; public" value={d.clientKey} />
                {d.serverKey ? (
                  <KeyRow label="Server key" hint="for servers; secret" value={d.serverKey} />
                ) : (
                  <p class="muted">The server key is shown to editors and admins.</p>
                )}
                <Replication publish={d.publish} />
                <QuickStart deployment={d} />
                {can.admin && (
                  <div class="actions">
                    <ConfirmButton
                      label="Rotate keys"
                      question="Issue new client and server keys? Every site and server using the old ones stops getting flags at once."
                      confirmLabel="Rotate both keys"
                      danger
                      onConfirm={act(() =>
                        api.post(`/projects/${project}/deployments/${d.key}/rotate-keys`, {
                          keys: ["client", "server"],
                        }),
                      )}
                    />
                    <button
                      type="button"
                      onClick={act(() => api.post(`/projects/${project}/deployments/${d.key}/publish`))}
                    >
                      Republish to the edge now
                    </button>
                    <ConfirmButton
                      label="Delete"
                      question={`Delete ${d.key} and its keys? Refused while flags are served on it.`}
                      confirmLabel="Delete deployment"
                      danger
                      onConfirm={act(() => api.delete(`/projects/${project}/deployments/${d.key}`))}
                    />
                  </div>
                )}
              </li>
            ))}
          </ul>
        )}
      </Loading>
      {can.admin && <CreateDeployment project={project} onCreated={deployments.reload} />}
    </section>
  );
}

function KeyRow({ label, hint, value }: { label: string; hint: string; value: string }) {
  return (
    <div class="key-row">
      <span class="field-label">
        {label} <span class="muted">({hint})</span>
      </span>
      <code class="secret">{value}</code>
      <CopyButton text={value} label={label.toLowerCase()} />
    </div>
  );
}

function Replication({ publish }: { publish: Deployment["publish"] }) {
  if (publish.status === "error") {
    return (
      <Banner kind="error" title="Replication failing:">
        {publish.lastError ?? "unknown error"} (attempt {publish.attempts ?? 1}; published version{" "}
        {publish.publishedVersion ?? "none"})
      </Banner>
    );
  }
  return (
    <p class="replication">
      <span class={`badge publish-${publish.status}`}>{publish.status === "ok" ? "✓ replicated" : "… pending"}</span>{" "}
      published version <strong>{publish.publishedVersion ?? "—"}</strong> at {when(publish.publishedAt)}
    </p>
  );
}

function CreateDeployment({ project, onCreated }: { project: string; onCreated: () => void }) {
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await run(() => api.post(`/projects/${project}/deployments`, { key, name }))) {
      setKey("");
      setName("");
      onCreated();
    }
  };
  return (
    <form class="panel inline-form" onSubmit={submit}>
      <h2>New deployment</h2>
      <Field label="Deployment key" value={key} required onInput={(e) => setKey(e.currentTarget.value)} />
      <Field label="Deployment name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit" class="primary">
        Create deployment
      </button>
      <ErrorBanner error={error} />
    </form>
  );
}
