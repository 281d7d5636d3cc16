/**
 * Redirect and rewrite experiments (the CDN middleware, edge/src/cdn/) read `redirect`,
 * `rewrite` and `path` from a variant's payload. Targets must be same-site paths: a
 * protocol-relative `//evil.example/phish`, or `/\evil.example` and `/\t/evil.example`
 * that URL parsing turns into one, would make our redirect an open redirect, and so would
 * `/.//evil.example` (same site, but its path `//evil.example` is protocol-relative). The edge
 * checks again after resolving against the request.
 */
const BASE = "https://site.invalid";

function sameSitePath(value: string): boolean {
  if (!value.startsWith("/")) return false;
  try {
    const resolved = new URL(value, BASE);
    // `/.//evil.example` resolves on this site to the path `//evil.example`, which a browser
    // reads as another host once the edge sends it as a relative Location.
    return resolved.origin === BASE && !resolved.pathname.startsWith("//");
  } catch {
    return false;
  }
}

export function pageTargetProblems(payload: unknown): Array<{ field: string; message: string }> {
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) return [];
  const problems: Array<{ field: string; message: string }> = [];
  const fields = payload as Record<string, unknown>;
  for (const field of ["redirect", "rewrite", "path"]) {
    if (!(field in fields)) continue;
    const value = fields[field];
    if (typeof value !== "string" || !sameSitePath(value))
      problems.push({ field, message: `${field} must be a path on the same site, like "/landing-v2"` });
  }
  return problems;
}
