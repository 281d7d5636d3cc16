/** Evaluation-model flags the edge tests serve: a release flag, an experiment, a dependent flag, a targeted flag. */
import type { EvaluationFlag } from "../../shared/evaluation/index.js";

const OFF = { key: "off", metadata: { default: true } };

export const checkoutExperiment: EvaluationFlag = {
  key: "checkout-redesign",
  metadata: { flagType: "experiment", experimentKey: "exp-checkout", flagVersion: 3, evaluationMode: "remote" },
  variants: {
    off: OFF,
    control: { key: "control", value: "control" },
    treatment: { key: "treatment", value: "treatment", payload: { color: "green" } },
  },
  segments: [
    {
      metadata: { segmentName: "All Other Users" },
      bucket: {
        selector: ["context", "user", "user_id"],
        salt: "abc123",
        allocations: [
          {
            range: [0, 50],
            distributions: [
              { variant: "control", range: [0, 21474837] },
              { variant: "treatment", range: [21474836, 42949673] },
            ],
          },
        ],
      },
      variant: "off",
    },
  ],
};

export const onboardingRelease: EvaluationFlag = {
  key: "new-onboarding",
  metadata: { flagType: "release", flagVersion: 1 },
  variants: { off: OFF, on: { key: "on", value: "on" } },
  segments: [
    {
      metadata: { segmentName: "Beta users" },
      conditions: [[{ selector: ["context", "user", "user_properties", "beta"], op: "is", values: ["true"] }]],
      variant: "on",
    },
    {
      metadata: { segmentName: "All Other Users" },
      bucket: {
        selector: ["context", "user", "device_id"],
        salt: "onb",
        allocations: [{ range: [0, 25], distributions: [{ variant: "on", range: [0, 42949673] }] }],
      },
      variant: "off",
    },
  ],
};

export const dependentFlag: EvaluationFlag = {
  key: "checkout-banner",
  dependencies: ["checkout-redesign"],
  metadata: { flagType: "release" },
  variants: { off: OFF, on: { key: "on", value: "on" } },
  segments: [
    {
      conditions: [[{ selector: ["result", "checkout-redesign", "key"], op: "is", values: ["treatment"] }]],
      variant: "on",
    },
    { variant: "off" },
  ],
};

export const enterpriseFlag: EvaluationFlag = {
  key: "sso",
  metadata: { flagType: "release" },
  variants: { off: OFF, on: { key: "on", value: "on" } },
  segments: [
    {
      conditions: [
        [{ selector: ["context", "groups", "company", "group_properties", "plan"], op: "is", values: ["enterprise"] }],
      ],
      variant: "on",
    },
    { variant: "off" },
  ],
};

export const TEST_FLAGS = [checkoutExperiment, onboardingRelease, dependentFlag, enterpriseFlag];
