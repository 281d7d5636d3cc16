/**
 * Admin tokens as stored and listed (never the secret): shared by the control plane, which
 * issues them, the stats service, which accepts them, and the console, which lists them.
 * The checks themselves are Node-only (shared/node/admin-tokens.ts).
 */
import * as z from "zod";

export const ROLES = ["viewer", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** An admin token as stored (under its hash) and as the API lists it: never the secret itself. */
export const tokenRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  /** A project key, or `*` for every project. */
  project: z.string(),
  createdAt: z.string(),
  /**
   * Set on a token the control plane made for itself (the release watcher's, which reads
   * reports): removed when that part stops, so one listed is in use, or left by a crash.
   */
  managedBy: z.string().optional(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;
