/**
 * The user as SDKs send it: base64url JSON in `X-Amp-Exp-User` (standard base64 and
 * padding accepted too) or a JSON body. Validated with zod (IDs must be strings) and
 * bounded in size and nesting depth, so no input can exhaust the isolate.
 */
import * as z from "zod";
import { userSchema, type User } from "../../shared/evaluation/user.js";
import { ApiError, parseOr400 } from "../../shared/http/errors.js";

export const MAX_USER_BYTES = 32 * 1024;
export const MAX_DEPTH = 16;
export const MAX_FLAG_KEYS = 1000;
/**
 * A user's (or an event's) groups: at most this many types and this much JSON. Exposures carry
 * the first name of each type, so this is what keeps a user's exposure message within one
 * queue message (edge/src/queue.ts).
 */
export const MAX_GROUP_TYPES = 100;
export const MAX_GROUPS_CHARS = 32 * 1024;

export type { User } from "../../shared/evaluation/user.js";

const flagKeysSchema = z.array(z.string().max(512)).max(MAX_FLAG_KEYS, `at most ${MAX_FLAG_KEYS} flag keys`);

/** Nesting depth of a JSON value, without recursion (a deep value must not overflow the stack). */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== "object") continue;
    if (depth > max) max = depth;
    if (max > MAX_DEPTH) return max;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return max;
}

export function checkDepth(value: unknown, what: string): void {
  if (depthOf(value) > MAX_DEPTH)
    throw new ApiError({ status: 400, message: `${what} is nested deeper than ${MAX_DEPTH} levels` });
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const NON_ASCII = /[\x80-\xff]/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function bytesOf(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function decodeBase64Json(text: string, what: string): unknown {
  const trimmed = text.trim();
  if (trimmed.length > MAX_USER_BYTES * 1.4)
    throw new ApiError({ status: 413, message: `${what} is larger than ${MAX_USER_BYTES} bytes` });
  if (!BASE64.test(trimmed)) throw new ApiError({ status: 400, message: `${what} is not base64` });
  const standard = trimmed.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  let json: string;
  try {
    const binary = atob(standard + "=".repeat((4 - (standard.length % 4)) % 4));
    json = NON_ASCII.test(binary) ? utf8.decode(bytesOf(binary)) : binary; // ASCII is already the text
  } catch {
    throw new ApiError({ status: 400, message: `${what} is not valid base64 of UTF-8 text` });
  }
  try {
    return JSON.parse(json);
  } catch {
    throw new ApiError({ status: 400, code: "invalid_json", message: `${what} is not base64 of JSON` });
  }
}

/** Why groups are refused, if they are: too many types, or too much JSON. */
export function groupsProblem(groups: Record<string, unknown> | null | undefined): string | undefined {
  if (!groups) return undefined;
  if (Object.keys(groups).length > MAX_GROUP_TYPES) return `groups has more than ${MAX_GROUP_TYPES} group types`;
  if (JSON.stringify(groups).length > MAX_GROUPS_CHARS)
    return `groups is larger than ${MAX_GROUPS_CHARS / 1024} KiB of JSON`;
  return undefined;
}

/**
 * An object as zod's object and record schemas take it: not an array, and without an own
 * `__proto__` key (JSON.parse makes one of `"__proto__": …`), which zod drops: such a user goes to zod.
 */
const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) && !Object.hasOwn(value, "__proto__");
const isId = (value: unknown) => value == null || (typeof value === "string" && value.length <= MAX_ID_CHARS);
const isGroupName = (value: unknown) => typeof value === "string" && value.length <= MAX_ID_CHARS;
const MAX_ID_CHARS = 1024;

/** Whether no object in `value` (at `depth`) lies deeper than MAX_DEPTH; recursion bounded by it. */
function withinDepth(value: object, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== null && typeof child === "object" && !withinDepth(child, depth + 1)) return false;
  }
  return true;
}

/**
 * Whether `value` is a user `userSchema` accepts, within the depth bound, checked in place (no
 * copy, no intermediate objects): the common case. Anything it refuses goes to zod, which
 * refuses it too, with the issues (or, for what this check is stricter about, accepts it).
 */
function isPlainUser(value: unknown): value is User {
  if (!isRecord(value) || !isId(value["user_id"]) || !isId(value["device_id"])) return false;
  const properties = value["user_properties"];
  if (properties != null && !isRecord(properties)) return false;
  const groups = value["groups"];
  if (groups != null) {
    if (!isRecord(groups)) return false;
    for (const type in groups) {
      const names = groups[type];
      if (Array.isArray(names)) {
        for (let i = 0; i < names.length; i++) if (!isGroupName(names[i])) return false;
      } else if (!isGroupName(names)) return false;
    }
  }
  const groupProperties = value["group_properties"];
  if (groupProperties != null) {
    if (!isRecord(groupProperties)) return false;
    for (const type in groupProperties) {
      const byName = groupProperties[type];
      if (!isRecord(byName)) return false;
      for (const name in byName) if (!isRecord(byName[name])) return false;
    }
  }
  return withinDepth(value, 1);
}

export function parseUser(value: unknown): User {
  let user: User;
  if (isPlainUser(value)) user = value;
  else {
    checkDepth(value, "The user");
    user = parseOr400(userSchema, value, "user");
  }
  const problem = groupsProblem(user.groups);
  if (problem) throw new ApiError({ status: 400, message: `The user's ${problem}`, details: { path: ["groups"] } });
  return user;
}

export function userFromHeader(header: string | undefined): User {
  if (!header)
    throw new ApiError({ status: 400, message: "Missing X-Amp-Exp-User header (base64url JSON of the user)" });
  return parseUser(decodeBase64Json(header, "X-Amp-Exp-User"));
}

export function flagKeysFromHeader(header: string | undefined): string[] | undefined {
  if (!header) return undefined;
  return parseOr400(flagKeysSchema, decodeBase64Json(header, "X-Amp-Exp-Flag-Keys"), "X-Amp-Exp-Flag-Keys");
}

export function flagKeysFromList(list: string | undefined): string[] | undefined {
  if (!list) return undefined;
  return parseOr400(
    flagKeysSchema,
    list
      .split(",")
      .map((key) => key.trim())
      .filter(Boolean),
    "flag_keys",
  );
}
