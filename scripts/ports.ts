/**
 * What `npm start` says when it cannot start: a port another process holds (a previous
 * start still running, say) is named with the variable that moves it, before anything
 * starts, instead of an `ERR_ADDRESS_IN_USE` stack halfway through.
 */
import { createServer } from "node:net";

export interface WantedPort {
  port: number;
  env: string;
  what: string;
}

/** Whether something already listens on `port` (tried by listening on it for a moment). */
function inUse(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

/** One line per wanted port that is taken. Port 0 (any free port) is never taken. */
export async function takenPorts(wanted: readonly WantedPort[], host = "127.0.0.1"): Promise<string[]> {
  const lines: string[] = [];
  for (const { port, env, what } of wanted) {
    if (port !== 0 && (await inUse(port, host)))
      lines.push(
        `Port ${port} (${what}, ${env}) is already in use: is another \`npm start\` still running? Stop it, or set ${env} to a free port.`,
      );
  }
  return lines;
}

/** A start failure as one readable line when it is a port in use; the error itself otherwise. */
export function describeStartFailure(error: unknown): unknown {
  const text = String((error as { message?: unknown } | null)?.message ?? error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE" || code === "ERR_ADDRESS_IN_USE" || /address.*in use/i.test(text))
    return `Could not start: ${text}. Is another \`npm start\` still running? Stop it, or choose other ports (EDGE_PORT, CONTROL_PLANE_PORT, STATS_PORT, CDN_PORT, DEMO_SITE_PORT).`;
  return error;
}
