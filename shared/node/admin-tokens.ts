/**
 * Admin tokens: random bearer secrets shown once; only their SHA-256 is stored. Each
 * has a role (`viewer` reads, `editor` also changes flags and groups, `admin` also
 * manages projects, deployments and tokens) and a scope (one project, or `*`).
 */
import { createHash, randomBytes } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors.js";

import { ROLES, type Role, type TokenRecord } from "../admin-token-record.js";

export { ROLES, type Role, type TokenRecord, tokenRecordSchema } from "../admin-token-record.js";

/** How a service finds a token's record by its hash: all the token checks need of a store. */
export interface TokenLookup {
  getToken(hash: string): Promise<TokenRecord | undefined>;
}

export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");
export const generateToken = (): string => `cpt_${randomBytes(24).toString("base64url")}`;

export type Principal = TokenRecord;
export type AuthEnv = { Variables: { principal: Principal } };

/** Requires a valid `Authorization: Bearer <token>`. */
export const requireToken =
  (store: TokenLookup): MiddlewareHandler<AuthEnv> =>
  async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const token = /^\s*bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) throw new ApiError({ status: 401, message: "Missing admin token: send Authorization: Bearer <token>" });
    const record = await store.getToken(hashToken(token));
    if (!record) throw new ApiError({ status: 401, message: "Unknown admin token" });
    c.set("principal", record);
    await next();
  };

/** Throws 403 unless the principal has at least `role` on `project` (`*`: every project). */
export function authorize(principal: Principal, role: Role, project: string): void {
  if (principal.project !== "*" && principal.project !== project) {
    throw new ApiError({ status: 403, message: `This token is scoped to project ${principal.project}` });
  }
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(role)) {
    throw new ApiError({ status: 403, message: `This needs the ${role} role; the token has ${principal.role}` });
  }
}

/**
 * Route middleware (`createRoute({ middleware: [requireRole("editor")] })`): 403 unless the
 * token has at least `role` on the route's `{project}`, or on every project for a route
 * without one. Runs before the body is read, so a refused caller learns nothing of it.
 */
export const requireRole =
  (role: Role): MiddlewareHandler<AuthEnv> =>
  async (c, next) => {
    authorize(c.var.principal, role, c.req.param("project") ?? "*");
    await next();
  };
