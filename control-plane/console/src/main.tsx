/**
 * The admin console: Preact (3 KiB, JSX, hooks) for a small app that lives on the API,
 * wouter's hash router (pages live after `#`, so no API path is shadowed), uPlot for charts.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Link, Route, Router, Switch } from "wouter-preact";
import { useHashLocation } from "wouter-preact/use-hash-location";
import { api, session } from "./api.js";
import { Banner } from "./components.js";
import { MeContext } from "./me.js";
import { FlagPage } from "./pages/flag.js";
import { FlagEditorPage } from "./pages/flag-editor.js";
import { GuidedCreatePage } from "./pages/guided-create.js";
import { MetricPage } from "./pages/metrics.js";
import { ProjectPage } from "./pages/project.js";
import { ProjectsPage } from "./pages/projects.js";
import { SignInPage } from "./pages/sign-in.js";
import { TokensPage } from "./pages/tokens.js";
import type { Me } from "./types.js";

function App() {
  const [me, setMe] = useState<Me | undefined>();
  const [checking, setChecking] = useState(session.token() !== null);
  useEffect(() => {
    const signedOut = () => setMe(undefined);
    window.addEventListener("console:signed-out", signedOut);
    if (session.token()) {
      api
        .get<Me>("/me")
        .then(setMe, () => session.signOut())
        .finally(() => setChecking(false));
    }
    return () => window.removeEventListener("console:signed-out", signedOut);
  }, []);

  if (checking) return <p class="muted page">Signing in…</p>;
  if (!me) return <SignInPage onSignedIn={setMe} />;
  return (
    <MeContext.Provider value={me}>
      <Router hook={useHashLocation}>
        <header class="topbar">
          <Link href="/" class="brand">
            Experiments console
          </Link>
          <nav aria-label="Main">
            <Link href="/">Projects</Link>
            {me.role === "admin" && <Link href="/tokens">Admin tokens</Link>}
            <a href="/docs">API docs</a>
          </nav>
          <span class="whoami">
            {me.name} · <span class={`badge role-${me.role}`}>{me.role}</span>
            {me.project !== "*" && <> · project {me.project}</>}
          </span>
          <button type="button" class="small" onClick={() => session.signOut()}>
            Sign out
          </button>
        </header>
        <main class="page">
          <Switch>
            <Route path="/" component={ProjectsPage} />
            <Route path="/tokens" component={TokensPage} />
            <Route path="/projects/:project/guide/:kind">
              {(params) => <GuidedCreatePage project={params.project} kind={params.kind} />}
            </Route>
            <Route path="/projects/:project/flags/new">{(params) => <FlagEditorPage project={params.project} />}</Route>
            <Route path="/projects/:project/flags/:flag/edit">
              {(params) => <FlagEditorPage project={params.project} flagKey={params.flag} />}
            </Route>
            <Route path="/projects/:project/flags/:flag/:tab?">
              {(params) => <FlagPage project={params.project} flagKey={params.flag} tab={params.tab ?? "overview"} />}
            </Route>
            <Route path="/projects/:project/metrics/new">{(params) => <MetricPage project={params.project} />}</Route>
            <Route path="/projects/:project/metrics/:metric">
              {(params) => <MetricPage project={params.project} metricKey={params.metric} />}
            </Route>
            <Route path="/projects/:project/:tab?">
              {(params) => <ProjectPage project={params.project} tab={params.tab ?? "flags"} />}
            </Route>
            <Route>
              <Banner kind="warning">
                No such page. <Link href="/">Back to projects</Link>
              </Banner>
            </Route>
          </Switch>
        </main>
      </Router>
    </MeContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
