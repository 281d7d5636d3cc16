/**
 * The user's decoding and its in-place check before zod, against the decoding and validation
 * it replaced: the same users, the same errors, for any input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { userSchema } from "../../shared/evaluation/user.js";
import { ApiError, parseOr400 } from "../../shared/http/errors.js";
import { checkDepth, decodeBase64Json, groupsProblem, MAX_USER_BYTES, parseUser } from "./user.js";

/** The decoding as it was: regex check, alphabet replace, atob, UTF-8 decode when not ASCII. */
function referenceDecode(text: string, what: string): unknown {
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const trimmed = text.trim();
  if (trimmed.length > MAX_USER_BYTES * 1.4)
    throw new ApiError({ status: 413, message: `${what} is larger than ${MAX_USER_BYTES} bytes` });
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed)) throw new ApiError({ status: 400, message: `${what} is not base64` });
  const standard = trimmed.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  let json: string;
  try {
    const binary = atob(standard + "=".repeat((4 - (standard.length % 4)) % 4));
    json = /[\x80-\xff]/.test(binary) ? utf8.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))) : binary;
  } catch {
    throw new ApiError({ status: 400, message: `${what} is not valid base64 of UTF-8 text` });
  }
  try {
    return JSON.parse(json);
  } catch {
    throw new ApiError({ status: 400, code: "invalid_json", message: `${what} is not base64 of JSON` });
  }
}

/** The validation this replaced: depth check, then zod, then the groups' bounds. */
function referenceParse(value: unknown) {
  checkDepth(value, "The user");
  const user = parseOr400(userSchema, value, "user");
  const problem = groupsProblem(user.groups);
  if (problem) throw new ApiError({ status: 400, message: `The user's ${problem}`, details: { path: ["groups"] } });
  return user;
}

/** What a call gives: its value, or its error's status, code, message and details. */
function outcome(run: () => unknown) {
  try {
    return { value: run() };
  } catch (error) {
    const { status, code, message, details } = error as ApiError;
    return { status, code, message, details };
  }
}

const base64Alphabet = fc.constantFrom(..."ABCXYZabcxyz0189+/-_=".split(""), " ", "%", "é");
const encodings = fc.oneof(
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString("base64url")),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString("base64")),
  fc.string({ unit: "binary" }).map((s) => Buffer.from(s).toString("base64")),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  fc.array(base64Alphabet, { maxLength: 40 }).map((chars) => chars.join("")),
  fc
    .tuple(
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString("base64")),
      fc.nat(),
      base64Alphabet,
    )
    .map(([text, at, c]) => text.slice(0, at % (text.length + 1)) + c + text.slice(at % (text.length + 1))),
);

const text = fc.string({ maxLength: 8 });
const id = fc.oneof(text, fc.constant("x".repeat(1025)), fc.constant(null), fc.integer());
const properties = fc.oneof(fc.dictionary(text, fc.jsonValue({ maxDepth: 3 })), fc.jsonValue({ maxDepth: 1 }));
const groupNames = fc.oneof(
  text,
  fc.array(fc.oneof(text, fc.integer()), { maxLength: 3 }),
  fc.integer(),
  fc.constant(null),
);
const users = fc.oneof(
  fc.record(
    {
      user_id: id,
      device_id: id,
      user_properties: properties,
      groups: fc.oneof(fc.dictionary(text, groupNames, { maxKeys: 3 }), fc.jsonValue({ maxDepth: 1 })),
      group_properties: fc.oneof(
        fc.dictionary(text, fc.dictionary(text, properties, { maxKeys: 2 }), { maxKeys: 2 }),
        fc.dictionary(text, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
      ),
      country: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue(),
  fc.nat({ max: 20 }).map((depth) => {
    let nested: unknown = "leaf";
    for (let i = 0; i < depth; i++) nested = { inner: nested };
    return { user_id: "deep", user_properties: { nested } };
  }),
);

describe("user decoding", () => {
  it("decodes X-Amp-Exp-User as before, with the same errors", () => {
    fc.assert(
      fc.property(encodings, (header) => {
        expect(outcome(() => decodeBase64Json(header, "X-Amp-Exp-User"))).toEqual(
          outcome(() => referenceDecode(header, "X-Amp-Exp-User")),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("drops a `__proto__` key where zod drops it (counterexamples of the property below)", () => {
    for (const text of [
      '{"__proto__":[]}',
      '{"__proto__":""}',
      '{"user_id":"u","__proto__":{"user_id":"v"}}',
      '{"user_properties":{"__proto__":{"plan":"gold"},"a":2}}',
      '{"groups":{"__proto__":"x"}}',
      '{"group_properties":{"__proto__":{"n":{"a":1}}}}',
      '{"group_properties":{"t":{"__proto__":{"a":1}}}}',
      '{"group_properties":{"t":{"n":{"__proto__":1}}}}',
    ]) {
      const user = parseUser(JSON.parse(text));
      expect(user, text).toEqual(referenceParse(JSON.parse(text)));
      expect(JSON.stringify(user), text).not.toContain("__proto__");
    }
  });

  it("accepts and refuses the users zod did, giving the same user and the same issues", () => {
    fc.assert(
      fc.property(users, (user) => {
        const input = JSON.parse(JSON.stringify(user));
        expect(outcome(() => parseUser(structuredClone(input)))).toEqual(outcome(() => referenceParse(input)));
      }),
      { numRuns: 1000 },
    );
  });
});
