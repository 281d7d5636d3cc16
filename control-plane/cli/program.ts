/**
 * The CLI's commands over the control plane's public API (docs/cli.md). `runCli` takes its input and output as
 * arguments and returns the exit code, so tests run it in process against a real stack: 0 success (and `diff`:
 * no change), 1 `diff` found changes / `apply` had conflicts / `refs` found missing flags, 2 an error.
 */
import { readFile, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { applyPlan } from "./apply.js";
import { type ApiClient, ApiRequestError, apiClient, CliError } from "./client.js";
import { configPath, effectiveConfig, type Env, readConfig, writeConfig } from "./config.js";
import { evaluateThroughControlPlane, evaluateThroughEdge, userFrom } from "./evaluate.js";
import { readFolder, writeFolder } from "./folder.js";
import { liveAsFiles, readLive } from "./live.js";
import { hasChanges, planChanges } from "./plan.js";
import { DEFAULT_CALLS, findRefs, readStaleness, withStaleness } from "./refs.js";
import { COLORS, PLAIN, renderOutcomes, renderPlan } from "./render.js";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Env;
  cwd: string;
  /** Whether stdout is a terminal: colors (unless NO_COLOR). */
  isTTY: boolean;
  /** The token for `login`: typed without echo on a terminal, or piped in. */
  readSecret(prompt: string): Promise<string>;
  fetch?: typeof fetch;
}

/** The package's version: one place, package.json. */
const VERSION: string = createRequire(import.meta.url)("../../package.json").version;

interface GlobalOptions {
  url?: string;
  json?: boolean;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const print = (lines: string[]) => {
    if (lines.length > 0) io.stdout(`${lines.join("\n")}\n`);
  };
  const printJson = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const palette = io.isTTY && !io.env["NO_COLOR"] ? COLORS : PLAIN;

  const program = new Command("edge-experiments")
    .description("Flags, experiments, metrics and groups as code, over the control plane's API")
    .option("--url <url>", "the control plane (default: the one you logged in to)")
    .option("--json", "machine-readable output")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  const globals = () => program.opts<GlobalOptions>();

  async function client(): Promise<ApiClient> {
    const config = await effectiveConfig(io.env);
    const url = globals().url ?? config.url;
    if (!url || !config.token)
      throw new CliError(
        "Not logged in: run `edge-experiments login --url <control plane>` (or set EDGE_EXPERIMENTS_TOKEN)",
      );
    return apiClient(url, config.token, io.fetch);
  }
  const projectOption = () => new Option("-p, --project <key>", "the project (default: project.yaml's key)");
  async function folderAndProject(dir: string, project: string | undefined) {
    const path = resolve(io.cwd, dir);
    if (!(await stat(path).catch(() => undefined))?.isDirectory()) throw new CliError(`${dir}: no such folder`);
    const folder = await readFolder(path);
    const key = project ?? folder.project?.key;
    if (!key) throw new CliError(`${dir}: no project.yaml, so name the project with --project`);
    return { folder, key };
  }

  program
    .command("login")
    .description("store an admin token for a control plane (typed or piped in, never echoed)")
    .option("--edge-url <url>", "the edge, for `eval --via edge`")
    .option("--local [file]", "the stack `npm start` runs: URLs and admin token from its .data/local.json")
    .action(async (options: { edgeUrl?: string; local?: string | true }) => {
      const saved = await readConfig(io.env);
      const local = options.local === undefined ? undefined : await localStack(options.local);
      const url = globals().url ?? local?.controlPlaneUrl ?? saved.url;
      if (!url) throw new CliError("Name the control plane: login --url <url>");
      if (local?.edgeUrl && !options.edgeUrl) options.edgeUrl = local.edgeUrl;
      const token = (local?.adminToken ?? (await io.readSecret("Admin token: "))).trim();
      if (!token) throw new CliError("No token given");
      const me = await apiClient(url, token, io.fetch)
        .request<{ name: string; role: string; project: string }>("GET", "/me")
        .catch((error: unknown) => {
          if (error instanceof ApiRequestError && error.status === 401)
            throw new CliError(`${url} refused the token (401): check it and log in again`);
          throw error;
        });
      const path = await writeConfig(io.env, {
        ...saved,
        url,
        token,
        ...(options.edgeUrl ? { edgeUrl: options.edgeUrl } : {}),
      });
      if (globals().json) printJson({ url, name: me.name, role: me.role, project: me.project, config: path });
      else print([`Logged in to ${url} as ${me.name} (${me.role}, project ${me.project}); saved in ${path}`]);
    });

  /** What `npm start` wrote about the local stack (scripts/local-main.ts). */
  async function localStack(file: string | true) {
    const path = resolve(io.cwd, file === true ? ".data/local.json" : file);
    const text = await readFile(path, "utf8").catch(() => {
      throw new CliError(`${path}: not found (is \`npm start\` running in this folder?)`);
    });
    return JSON.parse(text) as { controlPlaneUrl?: string; edgeUrl?: string; adminToken?: string };
  }

  program
    .command("logout")
    .description("forget the stored token")
    .action(async () => {
      const { token, ...rest } = await readConfig(io.env);
      await writeConfig(io.env, rest);
      if (!globals().json) print([token ? `Logged out (${configPath(io.env)})` : "Was not logged in"]);
    });

  program
    .command("export")
    .description("write a project to a folder of YAML files: project.yaml, flags/, metrics/, groups/")
    .argument("[dir]", "the folder (default: the project's key)")
    .addOption(projectOption().makeOptionMandatory())
    .action(async (dir: string | undefined, options: { project: string }) => {
      const live = await readLive(await client(), options.project);
      const files = liveAsFiles(live);
      const target = resolve(io.cwd, dir ?? options.project);
      const result = await writeFolder(target, files.project, files.resources);
      if (globals().json) printJson({ dir: target, ...result });
      else
        print([
          `Exported ${options.project} to ${target}: ${result.written.length} written, ` +
            `${result.unchanged.length} unchanged, ${result.removed.length} removed`,
          ...result.written.map((f) => palette.added(`  + ${f}`)),
          ...result.removed.map((f) => palette.removed(`  - ${f}`)),
        ]);
    });

  program
    .command("diff")
    .description("compare a folder with the live project: prints nothing and exits 0 when they agree, else exits 1")
    .argument("[dir]", "the folder", ".")
    .addOption(projectOption())
    .action(async (dir: string, options: { project?: string }) => {
      const { folder, key } = await folderAndProject(dir, options.project);
      const plan = planChanges(folder, await readLive(await client(), key));
      if (globals().json) printJson(plan);
      else print(renderPlan(plan, palette, { create: "create", update: "change" }));
      if (hasChanges(plan)) exitCode = 1;
    });

  program
    .command("apply")
    .description("make the live project what the folder says (each write conditional on the version read)")
    .argument("[dir]", "the folder", ".")
    .addOption(projectOption())
    .option("--dry-run", "print what would change, change nothing")
    .action(async (dir: string, options: { project?: string; dryRun?: boolean }) => {
      const { folder, key } = await folderAndProject(dir, options.project);
      const api = await client();
      const plan = planChanges(folder, await readLive(api, key));
      if (options.dryRun) {
        if (globals().json) printJson({ dryRun: true, ...plan });
        else {
          const lines = renderPlan(plan, palette, { create: "would create", update: "would change" });
          print(lines.length > 0 ? lines : ["No changes"]);
        }
        return;
      }
      const outcomes = await applyPlan(api, plan);
      if (globals().json) printJson({ project: key, outcomes, liveOnly: plan.liveOnly });
      else print(outcomes.length > 0 ? renderOutcomes(outcomes, palette) : ["No changes"]);
      // A change request opened where review is required is the expected outcome, not a failure.
      if (outcomes.some((o) => o.result !== "applied" && o.result !== "requested")) exitCode = 1;
    });

  program
    .command("eval")
    .description("what a user gets from each flag of a deployment")
    .argument("<deployment>", "the deployment's key")
    .addOption(projectOption().makeOptionMandatory())
    .option("--user-id <id>")
    .option("--device-id <id>")
    .option("--country <country>")
    .option("--platform <platform>")
    .option("--prop <name=value>", "a user property (repeatable)", collect, [])
    .option("--group <type=name>", "a group the user is in (repeatable)", collect, [])
    .addOption(
      new Option("--via <where>", "the control plane's try-user route (with reasons) or the edge")
        .choices(["control-plane", "edge"])
        .default("control-plane"),
    )
    .option("--edge-url <url>", "the edge (default: the one saved at login)")
    .action(async (deployment: string, options: EvalOptions) => {
      const api = await client();
      const user = userFrom(options);
      let answers: Awaited<ReturnType<typeof evaluateThroughControlPlane>>;
      if (options.via === "edge") {
        const edgeUrl = options.edgeUrl ?? (await effectiveConfig(io.env)).edgeUrl;
        if (!edgeUrl) throw new CliError("Name the edge: --edge-url <url> (or login --edge-url)");
        answers = await evaluateThroughEdge(api, edgeUrl, options.project, deployment, user, io.fetch);
      } else answers = await evaluateThroughControlPlane(api, options.project, deployment, user);
      if (globals().json) return printJson(answers);
      const rows = Object.entries(answers)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([flag, a]) => [
          flag,
          a.variant ?? "(default)",
          a.value === undefined ? "" : String(a.value),
          [a.reason, a.segment ? `segment "${a.segment}"` : ""].filter(Boolean).join(", "),
        ]);
      print(table([["flag", "variant", "value", "why"], ...rows]));
    });

  program
    .command("refs")
    .description("flag keys in a source tree: referenced but missing from the project, and flags never referenced")
    .argument("[src]", "the source tree", ".")
    .addOption(projectOption().makeOptionMandatory())
    .option("--call <name>", "another function whose first argument is a flag key (repeatable)", collect, [])
    .action(async (src: string, options: { project: string; call: string[] }) => {
      const api = await client();
      const live = await readLive(api, options.project);
      if (live.name === undefined) throw new CliError(`No project ${options.project}`);
      const found = await findRefs({
        root: resolve(io.cwd, src),
        flagKeys: [...live.resources.flag.keys()],
        calls: [...DEFAULT_CALLS, ...options.call],
      });
      const report = withStaleness(found, await readStaleness(api, options.project));
      if (Object.keys(report.missing).length > 0) exitCode = 1;
      if (globals().json) return printJson(report);
      const where = (locations: { file: string; line: number }[]) =>
        locations.map((l) => `${l.file}:${l.line}`).join(", ");
      print([
        `${report.filesScanned} ${report.filesScanned === 1 ? "file" : "files"}, ${Object.keys(report.referenced).length} of ${live.resources.flag.size} flags referenced`,
        ...Object.entries(report.missing).map(([key, at]) => palette.removed(`✗ missing ${key}: ${where(at)}`)),
        ...report.unreferenced.map((key) => palette.changed(`? never referenced: ${key}`)),
        ...report.stale.map((s) =>
          palette.changed(
            `⌛ stale ${s.flag}: ${s.message}${s.referenced ? ", still in code: remove it" : ", in no code: archive it"}`,
          ),
        ),
      ]);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError || error instanceof ApiRequestError) {
      const status = error instanceof ApiRequestError ? ` (${error.status})` : "";
      if (globals().json)
        io.stderr(
          `${JSON.stringify({ error: { message: error.message, ...(error instanceof ApiRequestError ? { status: error.status, code: error.code } : {}) } })}\n`,
        );
      else io.stderr(`edge-experiments: ${error.message}${status}\n`);
      return 2;
    }
    // A bug rather than a bad input: say so in one line; the stack with DEBUG set.
    io.stderr(`edge-experiments: unexpected error: ${(error as Error).message ?? String(error)}\n`);
    if (io.env["DEBUG"]) io.stderr(`${(error as Error).stack}\n`);
    return 2;
  }
  return exitCode;
}

interface EvalOptions {
  project: string;
  userId?: string;
  deviceId?: string;
  country?: string;
  platform?: string;
  prop: string[];
  group: string[];
  via: "control-plane" | "edge";
  edgeUrl?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd(),
  );
}
