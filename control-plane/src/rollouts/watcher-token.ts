/**
 * The watcher reads experiments' reports as any client of the stats service does: with a
 * viewer token of its own, made when it starts and removed when it stops (a crash leaves
 * one behind, named "release watcher" so it can be told apart and removed). The token list
 * shows it marked `managedBy`: the console labels it instead of offering it as one of the admin's.
 */
import { generateToken, hashToken } from "../../../shared/node/admin-tokens.js";
import type { Store } from "../db/store.js";

export async function createWatcherToken(store: Store): Promise<{ token: string; hash: string }> {
  const token = generateToken();
  const hash = hashToken(token);
  await store.putToken(hash, {
    id: hash.slice(0, 16),
    name: "release watcher",
    role: "viewer",
    project: "*",
    createdAt: new Date().toISOString(),
    managedBy: "release watcher",
  });
  return { token, hash };
}
