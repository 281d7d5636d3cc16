/** Variants: key, value, description and a JSON payload checked as it is typed. */
import { useId, useState } from "preact/hooks";
import { Field } from "../../components.js";
import type { FlagInput } from "../../types.js";
import type { Edit } from "./draft.js";
import { CheckedField, GroupProblem } from "./problems.js";

export function VariantsEditor({
  draft,
  edit,
  markInvalid,
}: {
  draft: FlagInput;
  edit: Edit;
  markInvalid: (field: string, bad: boolean) => void;
}) {
  const rename = (index: number, key: string) =>
    edit((d) => {
      const old = d.variants[index]!.key;
      d.variants[index]!.key = key;
      // Weights and inclusions are keyed by variant: follow the rename.
      if (d.weights && old in d.weights) {
        d.weights[key] = d.weights[old]!;
        delete d.weights[old];
      }
      if (old in d.inclusions) {
        d.inclusions[key] = d.inclusions[old]!;
        delete d.inclusions[old];
      }
    });
  return (
    <fieldset>
      <legend>Variants</legend>
      {draft.variants.map((variant, index) => (
        <div class="variant row" key={index} data-variant-index={index}>
          <CheckedField
            problem={`variants.${index}.key`}
            label={`Variant ${index + 1} key`}
            value={variant.key}
            required
            onInput={(e) => rename(index, e.currentTarget.value)}
          />
          <Field
            label={`Value of variant ${index + 1}`}
            hint="Optional: the string SDKs return; defaults to the key"
            value={variant.value ?? ""}
            onInput={(e) =>
              edit((d) =>
                e.currentTarget.value
                  ? void (d.variants[index]!.value = e.currentTarget.value)
                  : delete d.variants[index]!.value,
              )
            }
          />
          <Field
            label={`Description of variant ${index + 1}`}
            value={variant.description ?? ""}
            onInput={(e) =>
              edit((d) =>
                e.currentTarget.value
                  ? void (d.variants[index]!.description = e.currentTarget.value)
                  : delete d.variants[index]!.description,
              )
            }
          />
          <PayloadField
            label={`Payload of ${variant.key || `variant ${index + 1}`} (JSON)`}
            value={variant.payload}
            onChange={(payload) =>
              edit((d) =>
                payload === undefined ? delete d.variants[index]!.payload : void (d.variants[index]!.payload = payload),
              )
            }
            onValidity={(ok) => markInvalid(`payload of variant ${index + 1}`, !ok)}
          />
          {draft.variants.length > 1 && (
            <button
              type="button"
              class="small danger"
              onClick={() => {
                markInvalid(`payload of variant ${index + 1}`, false);
                edit((d) => {
                  const [removed] = d.variants.splice(index, 1);
                  if (d.weights && removed) delete d.weights[removed.key];
                  if (removed) delete d.inclusions[removed.key];
                  if (d.weights) d.weights = undefined;
                });
              }}
            >
              Remove variant {variant.key}
            </button>
          )}
        </div>
      ))}
      <GroupProblem problem="variants" />
      <button
        type="button"
        disabled={draft.variants.length >= 20}
        onClick={() =>
          edit((d) => {
            d.variants.push({ key: `variant-${d.variants.length + 1}` });
            d.weights = undefined;
          })
        }
      >
        Add variant
      </button>
    </fieldset>
  );
}

function PayloadField({
  label,
  value,
  onChange,
  onValidity,
}: {
  label: string;
  value: unknown;
  onChange: (value: unknown) => void;
  onValidity: (ok: boolean) => void;
}) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  const [problem, setProblem] = useState<string | undefined>();
  const id = useId();
  const input = (next: string) => {
    setText(next);
    if (next.trim() === "") {
      setProblem(undefined);
      onValidity(true);
      return onChange(undefined);
    }
    try {
      const parsed: unknown = JSON.parse(next);
      setProblem(undefined);
      onValidity(true);
      onChange(parsed);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : "Not JSON");
      onValidity(false);
    }
  };
  return (
    <div class={`field payload ${problem ? "invalid" : ""}`}>
      <label class="field-label" for={id}>
        {label}
      </label>
      <textarea
        id={id}
        rows={3}
        spellcheck={false}
        value={text}
        aria-invalid={problem !== undefined}
        aria-describedby={`${id}-hint`}
        onInput={(e) => input(e.currentTarget.value)}
      />
      <span class={problem ? "hint error-text" : "hint"} id={`${id}-hint`} role={problem ? "alert" : undefined}>
        {problem ? `Not valid JSON: ${problem}` : "Any JSON: an object, array, string, number…"}
      </span>
    </div>
  );
}
