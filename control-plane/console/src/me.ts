/** Who is signed in, for pages that hide what the token may not do (the API refuses anyway). */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me } from "./types.js";

export const MeContext = createContext<Me>({ id: "", name: "", role: "viewer", project: "*", createdAt: "" });

const RANK = { viewer: 0, editor: 1, admin: 2 } as const;
export function useCan(): { edit: boolean; admin: boolean } {
  const me = useContext(MeContext);
  return { edit: RANK[me.role] >= RANK.editor, admin: me.role === "admin" };
}
