/**
 * What the CDN middleware decides for one request: the evaluation context built from
 * the request (cookies, headers, `request.cf`, URL), the assignments, and the compact
 * header that carries them to the origin.
 *
 * Header format (`x-experiment-variants` by default): `flag=variant` pairs joined by
 * `;`, each part URL-encoded, non-default assignments only, sorted by flag key:
 * `checkout-redesign=treatment;new-onboarding=on`.
 */
import type { CompiledFlagSet, EvaluationVariant, Outcome } from "../../../shared/evaluation/index.js";
import { isDefaultVariant, userToContext } from "../../../shared/evaluation/index.js";

export interface RequestIdentity {
  deviceId: string;
  userId?: string;
}

/** The request facts flags can target: geography, language, user agent, URL. */
export function userFromRequest(request: Request, identity: RequestIdentity): Record<string, unknown> {
  const url = new URL(request.url);
  const cf = (request as Request & { cf?: Record<string, unknown> }).cf ?? {};
  const language = request.headers.get("accept-language")?.split(",")[0]?.split(";")[0]?.trim();
  const properties: Record<string, unknown> = { path: url.pathname, host: url.host, url: url.href };
  for (const [name, value] of url.searchParams) properties[`query.${name}`] = value;
  const userAgent = request.headers.get("user-agent");
  if (userAgent) properties["user_agent"] = userAgent;
  const referrer = request.headers.get("referer");
  if (referrer) properties["referrer"] = referrer;
  return {
    device_id: identity.deviceId,
    ...(identity.userId ? { user_id: identity.userId } : {}),
    platform: "Web",
    ...(typeof cf["country"] === "string" ? { country: cf["country"] } : {}),
    ...(typeof cf["region"] === "string" ? { region: cf["region"] } : {}),
    ...(typeof cf["city"] === "string" ? { city: cf["city"] } : {}),
    ...(language ? { language } : {}),
    user_properties: properties,
  };
}

export interface Assignment {
  /** Non-default variants by flag key (group flags, which clients never see, excluded). */
  variants: Record<string, EvaluationVariant>;
  /** The same, as served (CompiledFlagSet.serve): what exposures are recorded from. */
  served: Outcome[];
  /** Every visible flag's outcome, defaults too: what the evaluation counts take (edge/src/evaluation-counts.ts). */
  evaluated: Outcome[];
}

export function assign(compiled: CompiledFlagSet, user: Record<string, unknown>): Assignment {
  const evaluated = compiled.serve(userToContext(user), { defaults: true });
  const variants: Record<string, EvaluationVariant> = {};
  const served: Outcome[] = [];
  for (const outcome of evaluated) {
    if (isDefaultVariant(outcome.variant)) continue;
    variants[outcome.flagKey] = outcome.variant;
    served.push(outcome);
  }
  return { variants, served, evaluated };
}

export function assignmentHeader(variants: Record<string, EvaluationVariant>): string {
  return Object.keys(variants)
    .sort()
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(variants[key]!.key ?? "")}`)
    .join(";");
}

/** Parses the header back (for origins written in JavaScript, and for tests). */
export function parseAssignmentHeader(header: string | null): Record<string, string> {
  if (!header) return {};
  return Object.fromEntries(
    header
      .split(";")
      .filter(Boolean)
      .map((pair) => pair.split("=").map(decodeURIComponent) as [string, string]),
  );
}

export interface Navigation {
  kind: "redirect" | "rewrite";
  target: string;
}

type PagePayload = { redirect?: unknown; rewrite?: unknown; path?: unknown };
const payloadOf = (variant: EvaluationVariant): PagePayload | undefined =>
  variant.payload && typeof variant.payload === "object" ? (variant.payload as PagePayload) : undefined;

/**
 * Whether a variant applies on this page: a payload with `"path"` scopes it to that page
 * (a redirect or rewrite experiment); anything else applies everywhere. Exposures are
 * recorded only where a variant applies: a visitor who never opened `/landing` was not
 * exposed to the landing-page experiment.
 */
export const appliesOn = (variant: EvaluationVariant, pathname: string): boolean => {
  const path = payloadOf(variant)?.path;
  return typeof path !== "string" || path === pathname;
};

/**
 * A same-site path: one leading `/`, and once resolved against the request the same
 * origin (`//evil.example`, `/\evil.example` and `/\t/evil.example` all resolve to another
 * host). Checked when a flag is saved (shared/authoring/validate.ts) and again here.
 */
export function sameSiteTarget(target: unknown, base: URL): URL | undefined {
  if (typeof target !== "string" || !target.startsWith("/")) return undefined;
  let resolved: URL;
  try {
    resolved = new URL(target, base);
  } catch {
    return undefined;
  }
  // A path starting `//` (from `/.//evil.example`) is another host once sent as a relative Location.
  return resolved.origin === base.origin && !resolved.pathname.startsWith("//") ? resolved : undefined;
}

/**
 * A variant whose payload says `{"redirect": "/b"}` or `{"rewrite": "/b"}` sends the
 * request there: only on the page named by `"path"` (when given), only to a same-site path,
 * and never when the request is already on the target (no loops).
 */
export function navigationFor(variants: Record<string, EvaluationVariant>, url: URL): Navigation | undefined {
  for (const key of Object.keys(variants).sort()) {
    const variant = variants[key]!;
    const payload = payloadOf(variant);
    if (!payload || !appliesOn(variant, url.pathname)) continue;
    for (const kind of ["redirect", "rewrite"] as const) {
      const target = sameSiteTarget(payload[kind], url);
      if (!target || target.pathname === url.pathname) continue;
      return { kind, target: target.pathname + target.search };
    }
  }
  return undefined;
}

/** The variants as `@amplitude/experiment-js-client` takes them in `initialVariants`. */
export function initialVariants(variants: Record<string, EvaluationVariant>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(variants).map(([flag, v]) => {
      const experimentKey = v.metadata?.["experimentKey"];
      return [
        flag,
        {
          key: v.key,
          value: typeof v.value === "string" ? v.value : v.value === undefined ? v.key : JSON.stringify(v.value),
          ...(v.payload === undefined ? {} : { payload: v.payload }),
          ...(typeof experimentKey === "string" ? { expKey: experimentKey } : {}),
        },
      ];
    }),
  );
}
