/** Admin tokens: create (the secret is shown once), list, revoke. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import {
  Banner,
  ConfirmButton,
  CopyButton,
  ErrorBanner,
  Field,
  Loading,
  Select,
  useAction,
  useLoad,
  when,
} from "../components.js";
import type { Role, Token } from "../types.js";

export function TokensPage() {
  const tokens = useLoad(() => api.get<Token[]>("/tokens"), []);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [project, setProject] = useState("*");
  const [created, setCreated] = useState<(Token & { token: string }) | undefined>();
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (
      await run(async () => setCreated(await api.post<Token & { token: string }>("/tokens", { name, role, project })))
    ) {
      setName("");
      tokens.reload();
    }
  };
  const revoke = async (id: string) => void ((await run(() => api.delete(`/tokens/${id}`))) && tokens.reload());
  return (
    <>
      <h1>Admin tokens</h1>
      <ErrorBanner error={error} />
      {created && (
        <Banner kind="success" title={`Token "${created.name}" created.`}>
          Copy it now: it is not shown again.{" "}
          <code class="secret" data-testid="new-token">
            {created.token}
          </code>{" "}
          <CopyButton text={created.token} label="new token" />
        </Banner>
      )}
      <Loading state={tokens}>
        {(list) => (
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Project</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id} data-token={t.name}>
                  <td>
                    {t.name}
                    {t.managedBy && " "}
                    {t.managedBy && (
                      <span
                        class="badge"
                        title="Made and removed by the control plane itself; revoke it only if left behind by a crash"
                      >
                        made by the control plane ({t.managedBy})
                      </span>
                    )}
                  </td>
                  <td>{t.role}</td>
                  <td>{t.project === "*" ? "all projects" : t.project}</td>
                  <td>{when(t.createdAt)}</td>
                  <td>
                    <ConfirmButton
                      label="Revoke"
                      question={`Revoke ${t.name}? Anything using it gets 401 from now on.`}
                      confirmLabel="Revoke token"
                      danger
                      onConfirm={() => revoke(t.id)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <form class="panel inline-form" onSubmit={submit}>
        <h2>New token</h2>
        <Field label="Token name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        <Select
          label="Role"
          value={role}
          options={
            [
              ["viewer", "viewer: reads"],
              ["editor", "editor: changes flags"],
              ["admin", "admin: also keys and tokens"],
            ] as const
          }
          onChange={setRole}
        />
        <Field
          label="Project"
          hint="A project key, or * for all"
          value={project}
          required
          onInput={(e) => setProject(e.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Create token
        </button>
      </form>
    </>
  );
}
