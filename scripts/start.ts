/**
 * `npm start`: runs the local system (scripts/local-main.ts) in a process group of its own
 * and stops it in order.
 *
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group: npm, tsx, this
 * process, and every child in the group, workerd among them, which would die at once with
 * the events still in its queue. In a group of its own, the system (and its workerd
 * children) never sees that signal; this process turns it, SIGTERM and SIGHUP into one
 * `stop` message, and the system drains its queues, stops its parts, and exits. Whatever
 * is left in its group then (a workerd whose parent died) is killed, so no child outlives
 * `npm start`. If this process dies first, the system notices its IPC channel close and
 * stops itself the same way.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../edge/local/build.js";

/** Past the drain's own bound (DRAIN_TIMEOUT_MS, 15 s) and the parts' close: something hangs. */
const STOP_GRACE_MS = Number(process.env["DRAIN_TIMEOUT_MS"] ?? 15_000) + 20_000;

const system = spawn(process.execPath, ["--import", "tsx", join(ROOT, "scripts/local-main.ts")], {
  cwd: ROOT,
  detached: true, // its own process group: the terminal's SIGINT does not reach it
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});

const killGroup = () => {
  try {
    process.kill(-system.pid!, "SIGKILL");
  } catch {
    // ESRCH: nothing left in the group.
  }
};

let stopRequested = false;
const stop = (signal: NodeJS.Signals) => {
  // One Ctrl-C arrives more than once (from the terminal, relayed by npm and by tsx): the first counts.
  if (stopRequested) return;
  stopRequested = true;
  if (system.connected) system.send({ type: "stop", reason: signal });
  else system.kill("SIGTERM");
  setTimeout(() => {
    console.error(`The local system did not stop within ${STOP_GRACE_MS / 1000} s; killing it.`);
    killGroup();
  }, STOP_GRACE_MS).unref();
};
// Listeners added here leave tsx's hidden one in place (it tells tsx's parent process the
// signal arrived; without it that process would SIGKILL this one 30 ms later).
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop(signal));

system.on("exit", (code, signal) => {
  killGroup();
  process.exit(code ?? (signal ? 1 : 0));
});
