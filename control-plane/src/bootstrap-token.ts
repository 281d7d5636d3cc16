/** The first admin token of a new install. */
import { generateToken, hashToken } from "../../shared/node/admin-tokens.js";
import type { Store } from "./db/store.js";

/** On a new install, creates the first admin token (the given one, or a random one) and returns it. */
export async function ensureBootstrapToken(store: Store, given?: string): Promise<string | undefined> {
  if ((await store.listTokens()).length > 0) return undefined;
  const token = given ?? generateToken();
  await store.putToken(hashToken(token), {
    id: hashToken(token).slice(0, 16),
    name: "bootstrap",
    role: "admin",
    project: "*",
    createdAt: new Date().toISOString(),
  });
  return token;
}
