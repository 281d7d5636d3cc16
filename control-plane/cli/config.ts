/**
 * Where the CLI keeps its login: `<config dir>/edge-experiments/config.json`, readable by the user only (the token
 * in it is an admin token). `EDGE_EXPERIMENTS_URL` and `EDGE_EXPERIMENTS_TOKEN` override it, for CI, where nobody
 * logs in.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

export interface CliConfig {
  /** The control plane, e.g. `http://127.0.0.1:8788`. */
  url?: string;
  token?: string;
  /** The edge, for `eval --via edge`. */
  edgeUrl?: string;
}

export type Env = Record<string, string | undefined>;

/** The platform's per-user config dir: XDG on Linux, Application Support on macOS, APPDATA on Windows. */
export function configDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  const home = env["HOME"] ?? homedir();
  const base =
    env["XDG_CONFIG_HOME"] ??
    (platform === "darwin"
      ? join(home, "Library", "Application Support")
      : platform === "win32"
        ? (env["APPDATA"] ?? join(home, "AppData", "Roaming"))
        : join(home, ".config"));
  return join(base, "edge-experiments");
}

export const configPath = (env: Env) => join(configDir(env), "config.json");

export async function readConfig(env: Env): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(configPath(env), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === "object" && parsed !== null ? (parsed as CliConfig) : {};
}

/** Written with mode 0600 in a 0700 dir; chmod again in case the file existed with a wider mode. */
export async function writeConfig(env: Env, config: CliConfig): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = configPath(env);
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

/** The configuration in force: the environment over the saved login. */
export async function effectiveConfig(env: Env): Promise<CliConfig> {
  const saved = await readConfig(env);
  return {
    ...saved,
    ...(env["EDGE_EXPERIMENTS_URL"] ? { url: env["EDGE_EXPERIMENTS_URL"] } : {}),
    ...(env["EDGE_EXPERIMENTS_TOKEN"] ? { token: env["EDGE_EXPERIMENTS_TOKEN"] } : {}),
    ...(env["EDGE_EXPERIMENTS_EDGE_URL"] ? { edgeUrl: env["EDGE_EXPERIMENTS_EDGE_URL"] } : {}),
  };
}
