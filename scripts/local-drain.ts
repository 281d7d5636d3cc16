/**
 * Stopping the local system without losing what the edge accepted. Miniflare keeps queued
 * messages in memory only, so before anything stops: every edge worker stops taking
 * requests (503), then the stop waits until each worker's ledger (edge/local/local-worker.ts)
 * balances, every message the queue took acknowledged by ingest or on disk in the spool,
 * and the spool delivered. A failed delivery is not a delivery: the ledger counts only
 * acknowledgements. Bounded: when the bound passes, what ingest has not acknowledged stays
 * in the spool for the next start, and the console says so.
 */
import type { Miniflare } from "miniflare";
import { LEDGER_HEADER, LEDGER_PATH, type QueueLedger } from "../edge/local/ledger.js";
import type { Spool } from "./local-spool.js";

export interface LedgerReader {
  name: string;
  mf: Miniflare;
  token: string;
}

export interface DrainReport {
  /** Every accepted message acknowledged by ingest. */
  drained: boolean;
  /** Queue messages the edge workers accepted since the start. */
  accepted: number;
  /** Kept on disk in the spool for the next start. */
  spooled: number;
  /** Still in a worker's queue when the bound passed: lost with the process. */
  lost: number;
  ms: number;
}

const POLL_MS = 100;
const RETRY_MS = 500;

async function readLedger({ mf, token }: LedgerReader, stop = false): Promise<QueueLedger> {
  const response = await mf.dispatchFetch(`http://local${LEDGER_PATH}`, {
    method: stop ? "POST" : "GET",
    headers: { [LEDGER_HEADER]: token },
  });
  return (await response.json()) as QueueLedger;
}

/** Messages a worker's queue holds or is delivering: neither acknowledged by ingest nor spooled. */
const inQueue = (ledger: QueueLedger) => ledger.sent - ledger.acked - ledger.spooled;

export async function drainQueues(
  workers: readonly LedgerReader[],
  spool: Spool,
  options: { timeoutMs: number; log: (line: string) => void },
): Promise<DrainReport> {
  const started = Date.now();
  let ledgers = await Promise.all(workers.map((worker) => readLedger(worker, true)));
  const accepted = ledgers.reduce((sum, ledger) => sum + ledger.sent, 0);
  const outstanding = () => ledgers.reduce((sum, ledger) => sum + inQueue(ledger), 0) + spool.pending();
  const settled = () => ledgers.every((ledger) => ledger.busy === 0 && inQueue(ledger) === 0) && spool.pending() === 0;
  if (!settled())
    options.log(
      `Delivering ${outstanding()} queued messages to the stats service before stopping (at most ${Math.round(options.timeoutMs / 1000)} s)…`,
    );
  while (!settled() && Date.now() - started < options.timeoutMs) {
    // While stopping, the spool retries at once rather than at its backoff, and again every
    // half second while ingest keeps failing (not in a tight loop of failed deliveries).
    const retrying = spool.pending() > 0 && (await spool.deliverDue(true).catch(() => spool.pending())) > 0;
    await new Promise((resolve) => setTimeout(resolve, retrying ? RETRY_MS : POLL_MS));
    ledgers = await Promise.all(workers.map((worker) => readLedger(worker)));
  }
  const lost = ledgers.reduce((sum, ledger) => sum + inQueue(ledger), 0);
  const report = { drained: settled(), accepted, spooled: spool.pending(), lost, ms: Date.now() - started };
  if (report.drained) {
    if (accepted > 0)
      options.log(`All ${accepted} queue messages accepted since the start are acknowledged by ingest.`);
  } else {
    if (report.spooled > 0)
      options.log(
        `Ingest did not acknowledge ${report.spooled} queue messages within ${Math.round(options.timeoutMs / 1000)} s: kept in ${spool.dir}, delivered on the next start.`,
      );
    if (lost > 0) options.log(`${lost} queue messages were still in the queue and are lost.`);
  }
  return report;
}
