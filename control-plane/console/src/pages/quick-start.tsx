/**
 * A deployment's SDK quick start: copyable snippets with its real keys and the edge's URL,
 * for each way in (node server SDK remote and local, browser SDK, OpenFeature over OFREP,
 * the CDN middleware, curl). The snippets follow docs/edge-api.md and docs/cdn.md.
 */
import { useState } from "preact/hooks";
import { pageConfig } from "../api.js";
import { CopyButton } from "../components.js";
import type { Deployment } from "../types.js";

interface Snippet {
  key: string;
  title: string;
  note?: string;
  code: string;
}

/** The snippets for one deployment; `serverKey` is absent for viewers, who see a placeholder. */
export function snippets(edgeUrl: string, clientKey: string, serverKey: string | undefined): Snippet[] {
  const server = serverKey ?? "<server key: shown to editors and admins>";
  const user = btoa(JSON.stringify({ user_id: "user-1" }));
  return [
    {
      key: "node-remote",
      title: "Node server SDK, remote evaluation",
      note: "npm install @amplitude/experiment-node-server. Each fetch asks the edge; exposures of experiments are counted there.",
      code: `import { Experiment } from "@amplitude/experiment-node-server";

const experiment = Experiment.initializeRemote("${server}", { serverUrl: "${edgeUrl}" });
const variants = await experiment.fetchV2({ user_id: "user-1" });
console.log(variants["my-flag"]?.key);`,
    },
    {
      key: "node-local",
      title: "Node server SDK, local evaluation",
      note:
        "Evaluates in your process from flag configs streamed from the edge. Exposures are batched by the SDK and " +
        "sent to the edge every 10 s or every 200 events (flushIntervalMillis, flushQueueSize in exposureConfig): " +
        "a short-lived process must stay up until they are flushed, or set a shorter interval.",
      code: `import { Experiment } from "@amplitude/experiment-node-server";

const experiment = Experiment.initializeLocal("${server}", {
  serverUrl: "${edgeUrl}",
  streamUpdates: true,
  streamServerUrl: "${edgeUrl}",
  exposureConfig: { apiKey: "${server}", serverUrl: "${edgeUrl}/2/httpapi" },
});
await experiment.start();
const variants = experiment.evaluateV2({ user_id: "user-1" }, undefined, { tracksExposure: true });`,
    },
    {
      key: "browser",
      title: "Browser SDK",
      note: "npm install @amplitude/experiment-js-client. Use fetch() (flag configs are for server keys).",
      code: `import { Experiment } from "@amplitude/experiment-js-client";

const experiment = Experiment.initialize("${clientKey}", { serverUrl: "${edgeUrl}" });
await experiment.fetch({ user_id: "user-1" });
const variant = experiment.variant("my-flag");`,
    },
    {
      key: "ofrep",
      title: "OpenFeature (OFREP)",
      note: "npm install @openfeature/web-sdk @openfeature/ofrep-web-provider (or the server SDK with @openfeature/ofrep-provider and the server key).",
      code: `import { OpenFeature } from "@openfeature/web-sdk";
import { OFREPWebProvider } from "@openfeature/ofrep-web-provider";

await OpenFeature.setContext({ targetingKey: "user-1" });
await OpenFeature.setProviderAndWait(
  new OFREPWebProvider({ baseUrl: "${edgeUrl}", headers: [["Authorization", "Api-Key ${clientKey}"]] }),
);
const on = OpenFeature.getClient().getBooleanValue("my-flag", false);`,
    },
    {
      key: "cdn",
      title: "CDN middleware (your own Hono worker)",
      note: "Assigns before the origin sees the request: x-experiment-variants to the origin, initial variants in the HTML.",
      code: `import { Hono } from "hono";
import { experimentMiddleware } from "edge-experiments/edge/src/index.ts";

const app = new Hono();
app.use("*", experimentMiddleware({ deploymentKey: "${clientKey}", userIdCookie: "uid", injectHtml: true }));
app.all("*", (c) => fetch(c.req.raw));
export default app;`,
    },
    {
      key: "curl",
      title: "curl",
      code: `curl -s ${edgeUrl}/sdk/v2/vardata -H 'Authorization: Api-Key ${clientKey}' -H 'X-Amp-Exp-User: ${user}'
curl -s '${edgeUrl}/v1/vardata?user_id=user-1' -H 'Authorization: Api-Key ${server}'
curl -s -X POST ${edgeUrl}/track -H 'Authorization: Api-Key ${clientKey}' -H 'Content-Type: application/json' \\
  -d '{"events":[{"user_id":"user-1","event_type":"purchase_completed"}]}'`,
    },
  ];
}

export function QuickStart({ deployment }: { deployment: Deployment }) {
  const edgeUrl = (pageConfig.edgeUrl ?? "https://<your edge>").replace(/\/$/, "");
  const list = snippets(edgeUrl, deployment.clientKey, deployment.serverKey ?? undefined);
  const [open, setOpen] = useState(list[0]!.key);
  const shown = list.find((s) => s.key === open)!;
  return (
    <details class="quick-start" data-testid={`quick-start-${deployment.key}`}>
      <summary>SDK quick start</summary>
      <div class="snippet-tabs" role="tablist" aria-label={`SDK quick start for ${deployment.key}`}>
        {list.map((s) => (
          <button
            key={s.key}
            type="button"
            role="tab"
            aria-selected={s.key === open}
            class={s.key === open ? "active" : ""}
            onClick={() => setOpen(s.key)}
          >
            {s.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={shown.title} data-snippet={shown.key}>
        {shown.note && <p class="muted">{shown.note}</p>}
        <div class="snippet">
          <pre>
            <code>{shown.code}</code>
          </pre>
          <CopyButton text={shown.code} label={`${shown.title} snippet`} />
        </div>
      </div>
    </details>
  );
}
