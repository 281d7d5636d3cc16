/**
 * The guided creation's steps (pages/guided-create.tsx), in the workflow's order: for an
 * experiment hypothesis → deployment and SDK → variants → who is randomized → how many →
 * targeting → metrics → review and start; for a release flag name → deployment → variants →
 * allocation → activate. Each step names the draft fields it owns, so "Next" checks only those.
 */
import type { FlagInput } from "./types.js";
import { draftProblems, type Problems } from "./validate-draft.js";

export type GuideKind = FlagInput["type"];
export type StepId =
  | "hypothesis"
  | "name"
  | "deployment"
  | "variants"
  | "bucketing"
  | "allocation"
  | "targeting"
  | "metrics"
  | "review";

export interface Step {
  id: StepId;
  title: string;
  /** One sentence on the choice this step makes. */
  advice: string;
  /** Field ids (validate-draft.ts) this step owns: theirs and everything under them. */
  fields: string[];
}

const DEPLOYMENT: Step = {
  id: "deployment",
  title: "Deployment and SDK",
  advice:
    "The flag is served on the deployments you check; your app reads it with that deployment's key through one of the SDKs below.",
  fields: ["deployments"],
};

export const GUIDES: Record<GuideKind, Step[]> = {
  experiment: [
    {
      id: "hypothesis",
      title: "Hypothesis",
      advice:
        "Write down the problem, the change and the result you predict before any data arrives: the results are read against it, not against whatever moved.",
      fields: ["key", "name", "hypothesis"],
    },
    DEPLOYMENT,
    {
      id: "variants",
      title: "Variants",
      advice:
        "Keep each variant to one or a few changes, so a result says which change caused it, and make them noticeably different: a change users barely see moves no metric.",
      fields: ["variants"],
    },
    {
      id: "bucketing",
      title: "Who is randomized",
      advice:
        "Randomize the unit whose outcomes do not affect one another (SUTVA): users who sign in, devices for anonymous visitors, a group such as a company when its members influence each other.",
      fields: ["bucketing"],
    },
    {
      id: "allocation",
      title: "How many",
      advice:
        "Expose the share of traffic you are comfortable risking; an even split between variants reaches a verdict fastest.",
      fields: ["rollout", "weights"],
    },
    {
      id: "targeting",
      title: "Targeting, inclusions and exclusions",
      advice:
        "Optional: limit who can enter with segments, include your own ID to see a variant, exclude test accounts; everyone else follows the allocation.",
      fields: ["segments", "inclusions", "exclusions"],
    },
    {
      id: "metrics",
      title: "Metrics",
      advice:
        "One primary metric decides, secondary metrics explain, guardrails catch harm; the minimum detectable effect is the smallest lift worth shipping, and sizes the test.",
      fields: ["primaryMetric", "secondaryMetrics", "guardrailMetrics", "minimumDetectableEffect"],
    },
    {
      id: "review",
      title: "Review and start",
      advice:
        "Nothing reaches users until you start: starting serves the variants and opens analysis period 1, whose exposures the results count.",
      fields: [],
    },
  ],
  release: [
    {
      id: "name",
      title: "Name",
      advice:
        "A release flag turns a feature on for a share of users: name it after the feature, the key is what your code asks for.",
      fields: ["key", "name"],
    },
    DEPLOYMENT,
    {
      id: "variants",
      title: "Variants",
      advice: "Most release flags have one variant, on; add more only to serve different values or payloads.",
      fields: ["variants"],
    },
    {
      id: "allocation",
      title: "Allocation",
      advice: "Roll out gradually: start with a small share, watch your dashboards, then raise it.",
      fields: ["rollout", "weights"],
    },
    {
      id: "review",
      title: "Review and activate",
      advice: "An inactive flag serves nothing; activating serves it on its deployments within seconds.",
      fields: [],
    },
  ],
};

/** The draft's problems the guided flow checks: the editor's, and a deployment to be served on. */
export function guidedProblems(draft: FlagInput, takenKeys: ReadonlySet<string>): Problems {
  const problems = draftProblems(draft, takenKeys);
  if (draft.deployments.length === 0) problems["deployments"] = "Check at least one deployment to serve it on";
  return problems;
}

/** Of `problems`, those of the fields `step` owns. */
export function stepProblems(step: Step, problems: Problems): Problems {
  return Object.fromEntries(
    Object.entries(problems).filter(([field]) => step.fields.some((f) => field === f || field.startsWith(`${f}.`))),
  );
}

/** A key from a name, until the admin types one: "Checkout redesign!" → "checkout-redesign". */
export const keyFromName = (name: string): string =>
  name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // the accents NFKD split off
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|-+$/g, "")
    .slice(0, 100);

/** A new draft of `kind`: an experiment starts with a control and a treatment, split evenly. */
export function guidedDraft(kind: GuideKind, base: FlagInput): FlagInput {
  if (kind === "release") return { ...base, type: "release", variants: [{ key: "on" }] };
  return {
    ...base,
    type: "experiment",
    variants: [
      { key: "control", description: "What users get today" },
      { key: "treatment", description: "" },
    ],
    hypothesis: { problem: "", proposedChange: "", predictedResult: "" },
  };
}
