/**
 * The draft's problems (validate-draft.ts) where the fields are: each field shows its own
 * once it has been typed in or left, and every one after a first "Review" or "Next".
 */
import { createContext } from "preact";
import { useContext, useState } from "preact/hooks";
import { Field, TextArea } from "../../components.js";
import type { Problems } from "../../validate-draft.js";

export const ProblemsContext = createContext<{ problems: Problems; showAll: boolean }>({
  problems: {},
  showAll: false,
});

/**
 * The problem of field `id` to show now, and the handlers that mark it touched
 * (spread them on the input: `{...touch}`).
 */
export function useProblem(id: string): {
  error: string | undefined;
  touch: { onBlur: () => void };
  touched: () => void;
} {
  const { problems, showAll } = useContext(ProblemsContext);
  const [touched, setTouched] = useState(false);
  const problem = problems[id];
  return {
    error: touched || showAll ? problem : undefined,
    touch: { onBlur: () => setTouched(true) },
    touched: () => setTouched(true),
  };
}

type FieldProps = Parameters<typeof Field>[0];

/** A Field that shows the draft's problem for `problem` (a field id) once typed in or left. */
export function CheckedField({ problem, onInput, ...props }: FieldProps & { problem: string }) {
  const { error, touch, touched } = useProblem(problem);
  return (
    <Field
      {...props}
      error={error}
      {...touch}
      onInput={(e) => {
        touched();
        onInput?.(e);
      }}
    />
  );
}

type AreaProps = Parameters<typeof TextArea>[0];

export function CheckedTextArea({ problem, onInput, ...props }: AreaProps & { problem: string }) {
  const { error, touch, touched } = useProblem(problem);
  return (
    <TextArea
      {...props}
      error={error}
      {...touch}
      onInput={(e) => {
        touched();
        onInput?.(e);
      }}
    />
  );
}

/** A problem of a group of controls (weights, the variant list), shown under it as soon as there is one. */
export function GroupProblem({ problem }: { problem: string }) {
  const { problems } = useContext(ProblemsContext);
  return (
    <p class="hint error-text" aria-live="polite" data-problem={problem}>
      {problems[problem] ?? ""}
    </p>
  );
}
