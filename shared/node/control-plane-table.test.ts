/** The control-plane table's key codec: what `keys` builds, `prefixes` finds and `parseProjectKey` reads back. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keys, parseProjectKey, prefixes, type ProjectItemKind } from "./control-plane-table.js";

const KINDS: Array<[ProjectItemKind, "deployments" | "flags" | "groups" | "metrics" | undefined]> = [
  ["deployment", "deployments"],
  ["flag", "flags"],
  ["group", "groups"],
  ["publish", undefined],
  ["metric", "metrics"],
];
const name = fc.string({ minLength: 1, maxLength: 20 });

describe("the control-plane table's keys", () => {
  it("reads back the project, kind and key of every project item, whatever the names hold", () => {
    fc.assert(
      fc.property(name, name, (project, key) => {
        for (const [kind] of KINDS) expect(parseProjectKey(keys[kind](project, key))).toEqual({ project, kind, key });
      }),
    );
  });

  it("puts each kind's items under the prefix that lists them", () => {
    fc.assert(
      fc.property(name, name, (project, key) => {
        for (const [kind, list] of KINDS) {
          if (!list) continue;
          const { pk, sk } = keys[kind](project, key);
          const { pk: listed, prefix } = prefixes[list](project);
          expect(pk).toBe(listed);
          expect(sk.startsWith(prefix)).toBe(true);
        }
        const history = keys.history(project, key, 7);
        expect(history.pk).toBe(prefixes.history(project, key).pk);
        expect(history.sk.startsWith(prefixes.history(project, key).prefix)).toBe(true);
        expect(keys.project(project).pk).toBe(prefixes.projects().pk);
        expect(keys.token(key).pk).toBe(prefixes.tokens().pk);
      }),
    );
  });

  it("names no project item for the project list, history, tokens or an unknown kind", () => {
    expect(parseProjectKey(keys.project("shop"))).toBeUndefined();
    expect(parseProjectKey(keys.history("shop", "banner", 3))).toBeUndefined();
    expect(parseProjectKey(keys.metricHistory("shop", "revenue", 3))).toBeUndefined();
    expect(parseProjectKey(keys.token("abc"))).toBeUndefined();
    expect(parseProjectKey({ pk: "PROJECT#shop", sk: "SOMETHING#x" })).toBeUndefined();
  });

  it("sorts history versions as numbers", () => {
    const sks = [2, 10, 1, 100].map((v) => keys.history("p", "f", v).sk).sort();
    expect(sks).toEqual([1, 2, 10, 100].map((v) => keys.history("p", "f", v).sk));
  });
});
