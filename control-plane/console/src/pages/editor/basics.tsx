/** Key (a new flag only: the SDKs use it), name, description and type (a new flag only). */
import { Field, Select, TextArea } from "../../components.js";
import type { FlagInput } from "../../types.js";
import type { Edit } from "./draft.js";
import { useProblem } from "./problems.js";

export function BasicsFields({ draft, edit, isNew }: { draft: FlagInput; edit: Edit; isNew: boolean }) {
  const key = useProblem("key");
  const name = useProblem("name");
  return (
    <fieldset>
      <legend>Basics</legend>
      {isNew && (
        <Field
          label="Key"
          value={draft.key}
          required
          hint="Letters, digits, . _ -; the SDKs use it"
          error={key.error}
          {...key.touch}
          onInput={(e) => {
            key.touched();
            edit((d) => void (d.key = e.currentTarget.value));
          }}
        />
      )}
      <Field
        label="Name"
        value={draft.name}
        required
        error={name.error}
        {...name.touch}
        onInput={(e) => {
          name.touched();
          edit((d) => void (d.name = e.currentTarget.value));
        }}
      />
      <TextArea
        label="Description"
        rows={2}
        value={draft.description}
        onInput={(e) => edit((d) => void (d.description = e.currentTarget.value))}
      />
      {isNew && (
        <Select
          label="Type"
          value={draft.type}
          options={
            [
              ["release", "Release flag"],
              ["experiment", "Experiment"],
            ] as const
          }
          onChange={(type) => edit((d) => void (d.type = type))}
        />
      )}
    </fieldset>
  );
}
