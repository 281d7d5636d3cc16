import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliIo, runCli } from "./program.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** The CLI with no login and no network: what it answers before it calls any API. */
async function offline(argv: string[]) {
  const cwd = await mkdtemp(join(tmpdir(), "program-test-"));
  dirs.push(cwd);
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: { XDG_CONFIG_HOME: cwd },
    cwd,
    isTTY: false,
    readSecret: async () => "",
  };
  return { code: await runCli(argv, io), stdout, stderr };
}

describe("runCli before any API call", () => {
  it("prints help and the version with exit 0", async () => {
    expect((await offline(["--version"])).stdout).toBe("0.1.0\n");
    const help = await offline(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: edge-experiments/);
    expect(help.stdout).toMatch(/diff \[options\] \[dir\]/);
  });

  it.each([
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["diff", "no-such-folder"], /no-such-folder: no such folder/],
    [["export"], /required option '-p, --project <key>' not specified/],
    [["export", "--project", "shop"], /Not logged in/],
    [["eval", "web", "--project", "shop", "--via", "moon"], /Allowed choices are control-plane, edge/],
    [["login"], /Name the control plane: login --url <url>/],
  ])("%j exits 2 saying why", async (argv, message) => {
    const result = await offline(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
