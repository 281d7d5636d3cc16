/**
 * The demo deployment `npm start` serves on first run, in the evaluation model: a
 * release flag `new-onboarding` on for 25% of devices and an experiment
 * `checkout-redesign` split 50/50 on user_id.
 */
import type { EvaluationFlag } from "../shared/evaluation/index.js";
import { DISTRIBUTION_MAX } from "../shared/evaluation/schema.js";

const OFF = { key: "off", metadata: { default: true } };
const HALF = Math.floor(DISTRIBUTION_MAX / 2);

export const DEMO_FLAGS: EvaluationFlag[] = [
  {
    key: "new-onboarding",
    metadata: { flagType: "release", flagVersion: 1, evaluationMode: "remote" },
    variants: { off: OFF, on: { key: "on", value: "on" } },
    segments: [
      {
        metadata: { segmentName: "All Other Users" },
        bucket: { selector: ["context", "user", "user_id"], salt: "new-onboarding", allocations: [{ range: [0, 25], distributions: [{ variant: "on", range: [0, DISTRIBUTION_MAX] }] }] },
        variant: "off",
      },
    ],
  },
  {
    key: "checkout-redesign",
    metadata: { flagType: "experiment", experimentKey: "checkout-redesign", flagVersion: 1, evaluationMode: "remote" },
    variants: { off: OFF, control: { key: "control", value: "control" }, treatment: { key: "treatment", value: "treatment" } },
    segments: [
      {
        metadata: { segmentName: "All Other Users" },
        bucket: {
          selector: ["context", "user", "user_id"],
          salt: "checkout-redesign",
          allocations: [{ range: [0, 100], distributions: [{ variant: "control", range: [0, HALF] }, { variant: "treatment", range: [HALF, DISTRIBUTION_MAX] }] }],
        },
        variant: "off",
      },
    ],
  },
];
