import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { anchorOf, commentsOf, findBrokenReferences } from "./check-references.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("references in docs and comments", () => {
  it("every file the tree's docs and comments name exists", () => {
    expect(findBrokenReferences(ROOT)).toEqual([]);
  });
});

describe("the reference check", () => {
  let tree: string | undefined;
  afterEach(() => tree && rmSync(tree, { recursive: true, force: true }));

  /** A scratch git tree with these files, and the references it finds broken. */
  function brokenIn(files: Record<string, string>) {
    tree = mkdtempSync(join(tmpdir(), "references-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tree, path)), { recursive: true });
      writeFileSync(join(tree, path), text);
    }
    execFileSync("git", ["init", "-q"], { cwd: tree });
    return findBrokenReferences(tree).map(({ file, line, reference }) => `${file}:${line} ${reference}`);
  }

  it("finds a missing file named in a comment, and passes one that exists however it is named", () => {
    const broken = brokenIn({
      "src/store.ts": [
        "/**",
        " * Swept locally, see sweep.ts; parsed by `keys.ts`, tested in src/keys.test.ts,",
        " * imported as ./keys.js, documented in docs/store.md and `store/index.ts`.",
        " */",
        'const names = ["nothing.ts", "//gone.ts"]; // a comment after code: keys.ts',
        "// https://github.com/honojs/hono/blob/main/src/hono.ts is a URL",
      ].join("\n"),
      "src/keys.ts": "",
      "src/keys.test.ts": "",
      "docs/store.md": "",
      "lib/store/index.ts": "",
    });
    expect(broken).toEqual(["src/store.ts:2 sweep.ts"]);
  });

  it("reads no comment inside a string, and counts comment lines", () => {
    expect(commentsOf('const a = "// gone.ts";\nconst b = `/* x */`;\n\n// kept.ts\n')).toEqual([
      { text: "// kept.ts", line: 4 },
    ]);
  });

  it("checks Markdown links and their anchors, not code blocks, globs, placeholders or run-time files", () => {
    const broken = brokenIn({
      ".gitignore": ".data/\n",
      "docs/a.md": [
        "# Title",
        "## The `queue` (retries)",
        "See [b](b.md), [b's part](b.md#part), [a part](#the-queue-retries), [gone](gone.md), [bad](#nope).",
        "Tests: `*.test.ts`, `<name>.test.ts`; state in .data/local.json; [site](https://example.com/x.md).",
        "```ts",
        'import "package/src/index.ts";',
        "```",
        "Then missing.md.",
      ].join("\n"),
      "docs/b.md": "## Part\n",
    });
    expect(broken).toEqual(["docs/a.md:3 gone.md", "docs/a.md:3 #nope", "docs/a.md:8 missing.md"]);
  });

  it("makes anchors as GitHub does", () => {
    expect(anchorOf("Scaling: the `queue` (and retries)")).toBe("scaling-the-queue-and-retries");
  });
});
