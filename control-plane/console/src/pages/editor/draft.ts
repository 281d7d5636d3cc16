/**
 * The editor's draft: the fields an admin edits (`FlagInput`), how a stored flag or a new one
 * becomes one, and `Edit`, how every fieldset changes it (a mutation of a copy).
 */
import { EXPERIMENT_FIELDS, FLAG_INPUT_FIELDS } from "../../../../../shared/authoring/fields.js";
import type { Change } from "../../diff.js";
import type { Deployment, Flag, FlagInput } from "../../types.js";

export type Edit = (change: (draft: FlagInput) => void) => void;

/** The fields an admin edits, from a stored flag (the server manages the rest). */
export const toInput = (flag: Flag | FlagInput): FlagInput =>
  Object.fromEntries(
    FLAG_INPUT_FIELDS.filter((field) => flag[field] !== undefined).map((field) => [
      field,
      structuredClone(flag[field]),
    ]),
  ) as FlagInput;

export const newFlag = (deployments: Deployment[]): FlagInput => ({
  key: "",
  name: "",
  description: "",
  type: "release",
  variants: [{ key: "on" }],
  bucketing: { unit: "user_id" },
  rollout: 100,
  segments: [],
  inclusions: {},
  exclusions: { userIds: [], deviceIds: [] },
  prerequisites: [],
  groups: [],
  deployments: deployments.map((d) => d.key),
  secondaryMetrics: [],
  guardrailMetrics: [],
  statisticalMethod: "sequential",
  confidenceLevel: 0.95,
});

/** Where the guided creation leaves its draft for the full editor (this tab only). */
const CARRIED = "console-carried-draft";
export const carryDraft = (draft: FlagInput) => sessionStorage.setItem(CARRIED, JSON.stringify(draft));
/** The draft the guided creation handed over, once: a later "new flag" starts empty again. */
export function takeCarriedDraft(): FlagInput | undefined {
  const text = sessionStorage.getItem(CARRIED);
  sessionStorage.removeItem(CARRIED);
  return text ? (JSON.parse(text) as FlagInput) : undefined;
}

const EXPERIMENT_ONLY = new Set<string>(EXPERIMENT_FIELDS);
const isEmpty = (value: unknown): boolean =>
  value === "" ||
  (Array.isArray(value) && value.length === 0) ||
  (value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every(isEmpty));

/** Of a new flag's changes, what was set: not every empty list and, for a release, no experiment settings. */
export const setByNewFlag = (changes: Change[], type: FlagInput["type"]): Change[] =>
  changes.filter(
    (change) =>
      !isEmpty("value" in change ? change.value : undefined) &&
      !(type === "release" && EXPERIMENT_ONLY.has(String(change.path[0]))),
  );
