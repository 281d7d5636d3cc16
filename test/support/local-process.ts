/**
 * `npm start` as a user runs it: `tsx scripts/start.ts` in a process group of its own (as a
 * terminal runs a foreground job), on free ports and a data folder of the test's, so a
 * test can send SIGINT to the whole group (what Ctrl-C does) and look at what is left.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT } from "../../edge/local/build.js";

export interface LocalState {
  edgeUrl: string;
  statsUrl: string;
  controlPlaneUrl: string;
  adminToken: string;
  deployments: Array<{ key: string; clientKey: string; serverKey: string }>;
}

export interface LocalProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Waits for the welcome text, then reads .data/local.json. */
  ready(): Promise<LocalState>;
}

export const PORT_VARIABLES = ["EDGE_PORT", "CONTROL_PLANE_PORT", "STATS_PORT", "CDN_PORT", "DEMO_SITE_PORT"] as const;

/** Free loopback ports, one per variable (the OS picks them; released before use). */
export async function freePorts(): Promise<Record<(typeof PORT_VARIABLES)[number], string>> {
  const ports: Record<string, string> = {};
  for (const name of PORT_VARIABLES) {
    ports[name] = await new Promise<string>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(String(port)));
      });
    });
  }
  return ports as Record<(typeof PORT_VARIABLES)[number], string>;
}

export function startLocalProcess(env: Record<string, string>): LocalProcess {
  let output = "";
  const child = spawn(process.execPath, [join(ROOT, "node_modules/tsx/dist/cli.mjs"), "scripts/start.ts"], {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async ready() {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          child.stdout!.off("data", onData);
          child.off("exit", onExit);
        };
        const onData = () => {
          if (!output.includes("Ctrl-C stops everything")) return;
          done();
          resolve();
        };
        const onExit = () => {
          done();
          reject(new Error(`npm start exited early:\n${output}`));
        };
        child.stdout!.on("data", onData);
        child.on("exit", onExit);
        onData();
      });
      return JSON.parse(readFileSync(join(env["LOCAL_DATA_DIR"]!, "local.json"), "utf8")) as LocalState;
    },
  };
}
