import { useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { api } from "../api.js";
import { ErrorBanner, Field, Loading, useAction, useLoad, when } from "../components.js";
import { useCan } from "../me.js";
import type { Project } from "../types.js";

export function ProjectsPage() {
  const projects = useLoad(() => api.get<Project[]>("/projects"), []);
  const can = useCan();
  return (
    <>
      <h1>Projects</h1>
      <Loading state={projects}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">No projects yet.</p>
          ) : (
            <ul class="cards">
              {list.map((project) => (
                <li key={project.key} class="card">
                  <Link href={`/projects/${project.key}`}>
                    <strong>{project.name}</strong> <code>{project.key}</code>
                  </Link>
                  <span class="muted">created {when(project.createdAt)}</span>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
      {can.admin && <CreateProject />}
    </>
  );
}

function CreateProject() {
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const { error, run } = useAction();
  const [, navigate] = useLocation();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await run(() => api.post("/projects", { key, name }))) navigate(`/projects/${key}`);
  };
  return (
    <form class="panel inline-form" onSubmit={submit}>
      <h2>New project</h2>
      <Field
        label="Key"
        value={key}
        required
        pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,99}"
        onInput={(e) => setKey(e.currentTarget.value)}
      />
      <Field label="Name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
      <button type="submit" class="primary">
        Create project
      </button>
      <ErrorBanner error={error} />
    </form>
  );
}
