/**
 * The project's settings: the user properties the edge keeps with each exposure beyond the
 * built-in ones, which the results page's breakdown then offers
 * (`PUT /projects/{p}/breakdown-properties`).
 */
import { useState } from "preact/hooks";
import {
  BREAKDOWN_PROPERTIES,
  MAX_BREAKDOWN_VALUE_CHARS,
  MAX_PROJECT_BREAKDOWN_PROPERTIES,
} from "../../../../shared/breakdown-properties.js";
import { api } from "../api.js";
import { Banner, ErrorBanner, Field, useAction } from "../components.js";
import { useCan } from "../me.js";
import type { Project } from "../types.js";

/** "plan, locale" → ["plan", "locale"]: commas or spaces between names, empty ones dropped. */
export const propertyNames = (text: string): string[] => text.split(/[\s,]+/).filter((name) => name !== "");

export function SettingsTab({ project, onSaved }: { project: Project; onSaved: () => void }) {
  const can = useCan();
  const saved = project.breakdownProperties ?? [];
  const [text, setText] = useState(saved.join(", "));
  const [done, setDone] = useState(false);
  const { error, run } = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(false);
    const ok = await run(() =>
      api.put(`/projects/${project.key}/breakdown-properties`, { properties: propertyNames(text) }),
    );
    if (ok) {
      setDone(true);
      onSaved();
    }
  };
  return (
    <section class="settings">
      <form class="panel" onSubmit={submit} aria-labelledby="breakdown-settings-title">
        <h2 id="breakdown-settings-title">Breakdown properties</h2>
        <p>
          The edge keeps {BREAKDOWN_PROPERTIES.map((p) => p).join(", ")} with every exposure, so that results can be
          broken down by them. Name up to {MAX_PROJECT_BREAKDOWN_PROPERTIES} more user properties to keep as well: each
          is read from the user's field of that name, else from its user properties, and cut to{" "}
          {MAX_BREAKDOWN_VALUE_CHARS} characters. Exposures from then on carry them; earlier ones do not.
        </p>
        <Field
          label="Extra properties"
          hint="Names separated by commas, e.g. plan, locale"
          value={text}
          disabled={!can.admin}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        {can.admin ? (
          <button type="submit" class="primary">
            Save breakdown properties
          </button>
        ) : (
          <p class="muted">Only an admin can change them.</p>
        )}
        {done && <Banner kind="info">Saved: every deployment is published with the new list.</Banner>}
        <ErrorBanner error={error} />
      </form>
    </section>
  );
}
