/** Builds stored flags for tests with the schema's defaults filled in. */
import { flagInputSchema, type Flag, type FlagInput } from "./schema.js";

export function makeFlag(
  input: Partial<FlagInput> & Pick<FlagInput, "key" | "type" | "variants">,
  state: Partial<Flag> = {},
): Flag {
  const parsed = flagInputSchema.parse({ name: input.key, deployments: ["web"], ...input });
  const status = state.status ?? (input.type === "release" ? "active" : "running");
  const now = "2026-01-01T00:00:00.000Z";
  return {
    ...parsed,
    status,
    version: 1,
    createdAt: now,
    updatedAt: now,
    lastChange: { actor: "test", at: now, action: "create" },
    ...state,
  };
}
