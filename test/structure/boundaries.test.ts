/**
 * The lint rules that keep the services apart (biome.jsonc): an import from one service into
 * another, or of Node-only code into what the Worker bundles, fails `npm run lint`. Each case
 * lints a two-line file at the given path of a scratch tree that has the repository's configuration.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
// A scratch tree with the repository's lint configuration: each probe is a file at the path it names.
const scratch = mkdtempSync(join(tmpdir(), "boundaries-"));
copyFileSync(join(ROOT, "biome.jsonc"), join(scratch, "biome.jsonc"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Biome's diagnostics for `source` placed at `path`, or "" when it passes. */
function lint(path: string, source: string): string {
  const file = join(scratch, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, source);
  try {
    execFileSync(process.execPath, [biome, "lint", "--colors=off", "--vcs-enabled=false", path], {
      cwd: scratch,
      encoding: "utf8",
      stdio: "pipe",
    });
    return "";
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    return `${stdout ?? ""}${stderr ?? ""}`;
  } finally {
    rmSync(file);
  }
}

const importing = (specifier: string) => `import { x } from "${specifier}";\nexport const y = x;\n`;

describe("lint keeps the boundaries", () => {
  it.each([
    ["edge/src/routes/probe.ts", "../../../control-plane/src/app.js"],
    ["edge/local/probe.ts", "../../stats-lambda/src/app.js"],
    ["control-plane/src/probe.ts", "../../edge/src/app.js"],
    ["control-plane/src/probe.ts", "../../stats-lambda/src/report.js"],
    ["stats-lambda/src/probe.ts", "../../control-plane/src/db/store.js"],
    ["shared/evaluation/probe.ts", "../../edge/src/app.js"],
    ["control-plane/cli/probe.ts", "../../edge/src/app.js"],
  ])("refuses %s importing %s (services never import each other)", (path, specifier) => {
    expect(lint(path, importing(specifier))).toContain("Services never import each other");
  });

  it.each([
    ["edge/src/probe.ts", "node:fs"],
    ["edge/src/probe.ts", "../../shared/node/dynamo.js"],
    ["shared/evaluation/probe.ts", "node:crypto"],
  ])("refuses %s importing Node-only %s (the Worker bundles it)", (path, specifier) => {
    expect(lint(path, importing(specifier))).toMatch(/The Worker bundles/);
  });

  it.each([
    ["control-plane/cli/probe.ts", "../src/services/flags.js"],
    ["control-plane/cli/probe.ts", "../../control-plane/src/db/store.js"],
  ])("refuses %s importing %s (the CLI is a client of the public API)", (path, specifier) => {
    expect(lint(path, importing(specifier))).toContain("The CLI is a client of the public API");
  });

  it.each([
    ["control-plane/cli/probe.ts", "../../shared/authoring/schema.js"],
    ["edge/src/probe.ts", "../../shared/evaluation/index.js"],
    ["edge/local/probe.ts", "node:fs"],
    ["control-plane/src/probe.ts", "../../shared/node/dynamo.js"],
    ["stats-lambda/src/probe.ts", "../../shared/stats/index.js"],
  ])("lets %s import %s", (path, specifier) => {
    expect(lint(path, importing(specifier))).toBe("");
  });
});
