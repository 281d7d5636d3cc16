/** Small building blocks shared by the pages. */
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useId, useState } from "preact/hooks";
import { ApiFailure, describeError } from "./api.js";
import { describeChange, expandChanges } from "./change-text.js";
import type { Change } from "./diff.js";

/** Runs an async loader, and again when a key changes; `reload` runs it on demand. */
export function useLoad<T>(
  load: () => Promise<T>,
  keys: unknown[],
): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => current && setState({ data: undefined, error, loading: false }),
    );
    return () => void (current = false);
  }, [...keys, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Runs an API call from a button or form, keeping its error to show (cleared on the next run). */
export function useAction(): { error: unknown; run: (work: () => Promise<unknown>) => Promise<boolean> } {
  const [error, setError] = useState<unknown>();
  const run = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      return true;
    } catch (failure) {
      setError(failure);
      return false;
    }
  };
  return { error, run };
}

export function Banner({
  kind,
  children,
  title,
}: {
  kind: "error" | "warning" | "info" | "success";
  children: ComponentChildren;
  title?: string;
}) {
  // Plain glyphs in a drawn circle: the emoji these once were render as empty boxes without an emoji font.
  const icon = { error: "×", warning: "!", info: "i", success: "✓" }[kind];
  return (
    <div class={`banner banner-${kind}`} role={kind === "error" ? "alert" : "status"}>
      <span class="banner-icon" aria-hidden="true">
        {icon}
      </span>
      <div>
        {title && <strong>{title} </strong>}
        {children}
      </div>
    </div>
  );
}

/** An error, with the fields a validation error names (`details: [{path, message}]`). */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const details =
    error instanceof ApiFailure && Array.isArray(error.details)
      ? (error.details as Array<{ path?: unknown[]; message?: string }>)
      : [];
  return (
    <Banner kind="error">
      {describeError(error)}
      {details.length > 0 && (
        <ul>
          {details.slice(0, 10).map((d, i) => (
            <li key={i}>
              <code>{(d.path ?? []).join(".")}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
    </Banner>
  );
}

export function Loading<T>({
  state,
  children,
}: {
  state: { data: T | undefined; error: unknown; loading: boolean };
  children: (data: T) => ComponentChildren;
}) {
  if (state.error) return <ErrorBanner error={state.error} />;
  if (state.data === undefined) return <p class="muted">Loading…</p>;
  return <>{children(state.data)}</>;
}

/** A control with its label (every input has one), its hint and, when it is wrong, the problem, as its description. */
function Labelled({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: string | undefined;
  error?: string | undefined;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const id = useId();
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ") || undefined;
  return (
    <div class={error ? "field invalid" : "field"}>
      <label class="field-label" for={id}>
        {label}
      </label>
      {children(id, described)}
      {hint && (
        <span class="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {/* Polite: read once typing pauses, not at every key like an alert. */}
      <span class="hint error-text" id={`${id}-error`} aria-live="polite">
        {error ?? ""}
      </span>
    </div>
  );
}

type Labels = { label: string; hint?: string | undefined; error?: string | undefined };

export const Field = ({ label, hint, error, ...input }: JSX.InputHTMLAttributes<HTMLInputElement> & Labels) => (
  <Labelled label={label} hint={hint} error={error}>
    {(id, describedBy) => (
      <input id={id} {...input} aria-invalid={error ? true : undefined} aria-describedby={describedBy} />
    )}
  </Labelled>
);

export const TextArea = ({ label, hint, error, ...area }: JSX.TextareaHTMLAttributes<HTMLTextAreaElement> & Labels) => (
  <Labelled label={label} hint={hint} error={error}>
    {(id, describedBy) => (
      <textarea id={id} {...area} aria-invalid={error ? true : undefined} aria-describedby={describedBy} />
    )}
  </Labelled>
);

export function Select<T extends string>({
  label,
  value,
  options,
  onChange,
  disabled,
}: {
  label: string;
  value: T;
  options: ReadonlyArray<T | readonly [T, string]>;
  onChange: (value: T) => void;
  disabled?: boolean;
}) {
  return (
    <Labelled label={label}>
      {(id) => (
        <select
          id={id}
          value={value}
          disabled={disabled}
          onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as T)}
        >
          {options.map((option) => {
            const [key, text] = typeof option === "string" ? [option, option] : option;
            return (
              <option key={key} value={key}>
                {text}
              </option>
            );
          })}
        </select>
      )}
    </Labelled>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(text).catch(() => undefined);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };
  return (
    <button type="button" class="small" onClick={copy} aria-label={`Copy ${label}`}>
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

/** A button that asks once more, in place, before doing something that cannot be undone. */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  danger,
  effect,
  onAsk,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  danger?: boolean;
  /** A short line under the label: what the action does, before anyone asks. */
  effect?: string;
  /** Called when the question opens: a page can load the numbers it quotes only then. */
  onAsk?: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class={danger ? "danger" : ""}
        onClick={() => {
          setAsking(true);
          onAsk?.();
        }}
      >
        {label}
        {effect && <span class="effect">{effect}</span>}
      </button>
    );
  }
  return (
    // biome-ignore lint/a11y/useSemanticElements: an inline question within a row of buttons, where a fieldset would break the line
    <span class="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        class={danger ? "danger" : "primary"}
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/**
 * A readable list of changes: the field by its label, what it was, what it is, in full (change-text.ts).
 * `after` and `before`, the whole documents, name list items by key ("Variant treatment").
 */
export function ChangeList({
  changes,
  empty = "No changes.",
  after,
  before,
}: {
  changes: Change[];
  empty?: string;
  after?: unknown;
  before?: unknown;
}) {
  if (changes.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table class="changes">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {expandChanges(changes).map((change) => {
          const text = describeChange(change, after, before);
          return (
            <tr
              key={change.path.join("/") + change.type}
              class={`change-${change.type.toLowerCase()}`}
              data-field={text.field}
            >
              <td>
                {text.field} <span class="tag">{text.kind}</span>
              </td>
              <td>
                <pre class="value">{text.before}</pre>
              </td>
              <td>
                <pre class="value">{text.after}</pre>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export const when = (iso: string | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}
