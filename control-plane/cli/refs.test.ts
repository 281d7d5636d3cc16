import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CALLS, findRefs, withStaleness } from "./refs.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "refs-test-"));
  await mkdir(join(root, "src"));
  await mkdir(join(root, "node_modules", "sdk"), { recursive: true });
  await writeFile(
    join(root, "src", "page.tsx"),
    [
      "const FLAGS = ['new-nav', `pricing.v2`];",
      'const a = useFlag("new-nav");',
      "const b = client.getStringDetails('ghost-flag', 'x');",
      'const c = gate("custom-gate");',
      "const d = variant(someVariable);",
    ].join("\n"),
  );
  await writeFile(join(root, "node_modules", "sdk", "index.js"), 'variant("vendored-flag"); "unused-flag"');
  await writeFile(join(root, "src", "notes.md"), '"unused-flag"');
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("findRefs", () => {
  it("finds literals of known keys, missing keys in evaluation calls, and never-referenced flags", async () => {
    const report = await findRefs({
      root,
      flagKeys: ["new-nav", "pricing.v2", "unused-flag"],
      calls: [...DEFAULT_CALLS, "gate"],
    });
    expect(report.referenced).toEqual({
      "new-nav": [
        { file: join("src", "page.tsx"), line: 1 },
        { file: join("src", "page.tsx"), line: 2 },
      ],
      "pricing.v2": [{ file: join("src", "page.tsx"), line: 1 }],
    });
    // node_modules and non-source files are not scanned; a variable argument is no key.
    expect(report.missing).toEqual({
      "ghost-flag": [{ file: join("src", "page.tsx"), line: 3 }],
      "custom-gate": [{ file: join("src", "page.tsx"), line: 4 }],
    });
    expect(report.unreferenced).toEqual(["unused-flag"]);
    expect(report.filesScanned).toBe(1);
  });
});

describe("withStaleness", () => {
  it("says of each stale flag whether code still names it", () => {
    const report = {
      referenced: { "new-nav": [{ file: "a.ts", line: 1 }] },
      missing: {},
      unreferenced: ["old"],
      filesScanned: 1,
    };
    const combined = withStaleness(report, [
      { flag: "old", reason: "not_evaluated", message: "not evaluated for 30 days" },
      { flag: "new-nav", reason: "single_variant", message: "served only on for 30 days" },
    ]);
    expect(combined.stale).toEqual([
      { flag: "new-nav", reason: "single_variant", message: "served only on for 30 days", referenced: true },
      { flag: "old", reason: "not_evaluated", message: "not evaluated for 30 days", referenced: false },
    ]);
    expect(combined.unreferenced).toEqual(["old"]);
  });
});
