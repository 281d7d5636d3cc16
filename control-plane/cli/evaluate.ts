/**
 * `eval`: what a user gets from each flag of a deployment, through the control plane's "try a user" route (with
 * the reason and deciding segment) or through the edge itself (what SDKs get: remote evaluation, no exposure).
 */
import { type ApiClient, CliError } from "./client.js";

export interface EvaluationUser {
  user_id?: string;
  device_id?: string;
  country?: string;
  platform?: string;
  user_properties?: Record<string, unknown>;
  groups?: Record<string, string[]>;
}

export interface FlagAnswer {
  variant: string | null;
  value?: unknown;
  payload?: unknown;
  reason?: string;
  segment?: string | null;
}

export async function evaluateThroughControlPlane(
  client: ApiClient,
  project: string,
  deployment: string,
  user: EvaluationUser,
): Promise<Record<string, FlagAnswer>> {
  const path = `/projects/${encodeURIComponent(project)}/deployments/${encodeURIComponent(deployment)}/evaluate`;
  const answers = await client.request<Record<string, FlagAnswer & { exposure?: boolean }>>("POST", path, {
    body: user,
  });
  return Object.fromEntries(Object.entries(answers).map(([key, { exposure, ...answer }]) => [key, answer] as const));
}

/** Through the edge with the deployment's client key, as an SDK's remote evaluation; no exposure is recorded. */
export async function evaluateThroughEdge(
  client: ApiClient,
  edgeUrl: string,
  project: string,
  deployment: string,
  user: EvaluationUser,
  fetchImpl: typeof fetch = fetch,
): Promise<Record<string, FlagAnswer>> {
  const { clientKey } = await client.request<{ clientKey: string }>(
    "GET",
    `/projects/${encodeURIComponent(project)}/deployments/${encodeURIComponent(deployment)}`,
  );
  let response: Response;
  try {
    response = await fetchImpl(`${edgeUrl.replace(/\/+$/, "")}/sdk/v2/vardata`, {
      method: "POST",
      headers: {
        authorization: `Api-Key ${clientKey}`,
        "content-type": "application/json",
        "x-amp-exp-exposure-track": "no-track",
      },
      body: JSON.stringify(user),
    });
  } catch (error) {
    throw new CliError(`Cannot reach the edge at ${edgeUrl}: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!response.ok || !body) throw new CliError(`The edge answered ${response.status}: ${JSON.stringify(body)}`);
  return Object.fromEntries(
    Object.entries(
      body as Record<string, { key?: string; value?: unknown; payload?: unknown; metadata?: { default?: boolean } }>,
    ).map(([flag, variant]) => [
      flag,
      {
        variant: variant.key ?? null,
        ...(variant.value === undefined ? {} : { value: variant.value }),
        ...(variant.payload === undefined ? {} : { payload: variant.payload }),
        ...(variant.metadata?.default ? { reason: "DEFAULT" } : {}),
      },
    ]),
  );
}

/** `key=value` options as properties; repeated group names collect into a list. */
export function userFrom(options: {
  userId?: string;
  deviceId?: string;
  country?: string;
  platform?: string;
  prop?: string[];
  group?: string[];
}): EvaluationUser {
  const pairs = (items: string[] | undefined, what: string) =>
    (items ?? []).map((item) => {
      const at = item.indexOf("=");
      if (at <= 0) throw new CliError(`--${what} takes name=value, not '${item}'`);
      return [item.slice(0, at), item.slice(at + 1)] as const;
    });
  const user: EvaluationUser = {};
  if (options.userId) user.user_id = options.userId;
  if (options.deviceId) user.device_id = options.deviceId;
  if (options.country) user.country = options.country;
  if (options.platform) user.platform = options.platform;
  const properties = pairs(options.prop, "prop");
  if (properties.length > 0) user.user_properties = Object.fromEntries(properties);
  const groups = pairs(options.group, "group");
  if (groups.length > 0) {
    user.groups = {};
    for (const [type, name] of groups) (user.groups[type] ??= []).push(name);
  }
  if (!user.user_id && !user.device_id) throw new CliError("Name the user: --user-id or --device-id");
  return user;
}
