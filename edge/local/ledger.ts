/**
 * What the local edge worker (local-worker.ts) and the local system (scripts/) share: the
 * queue's ledger, read over HTTP, and the spool's message format. No runtime imports, so
 * both Node and workerd load it.
 */
import type { QueueMessage } from "../../shared/events.js";

/** What the local system reads from `LEDGER_PATH`. */
export interface QueueLedger {
  /** Queue messages the broker accepted. */
  sent: number;
  /** Acknowledged after ingest took them. */
  acked: number;
  /** Handed to the spool (on disk) instead of an in-memory retry. */
  spooled: number;
  /** Background tasks (`waitUntil`: buffered sends among them) and consumer runs not finished. */
  busy: number;
  stopping: boolean;
}

/** One message as the spool keeps it: what a delivery needs, and when to try it again. */
export interface SpooledMessage {
  id: string;
  timestamp: number;
  attempts: number;
  body: QueueMessage;
  notBefore: number;
}

export const LEDGER_PATH = "/__local/queue-ledger";
export const LEDGER_HEADER = "x-local-ledger";
