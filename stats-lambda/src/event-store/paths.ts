/** The event store's Hive layout (columns.ts): `<table>/project=<p>/date=<YYYY-MM-DD>/<file>.parquet`. */
import { createHash } from "node:crypto";
import type { TableName } from "./columns.js";

/** A project's path segment: its key, escaped should it hold anything a path or a Hive value cannot. */
export const projectSegment = (project: string) => `project=${encodeURIComponent(project)}`;
export const projectOfSegment = (segment: string) =>
  segment.startsWith("project=") ? decodeURIComponent(segment.slice("project=".length)) : undefined;

/** The UTC day of an epoch-millisecond time: the `date` partition of its row. */
export const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);

export const DATE_SEGMENT = /^date=(\d{4}-\d{2}-\d{2})$/;

export const partitionPath = (table: TableName, project: string, day: string) =>
  `${table}/${projectSegment(project)}/date=${day}`;

/** A short, path-safe digest of some names: deterministic file names. */
export const digest = (names: readonly string[]) =>
  createHash("sha256")
    .update([...names].sort().join("\n"))
    .digest("hex")
    .slice(0, 32);

/** A delivery's file in each partition it touches: the same for the same messages, so a redelivery replaces it. */
export const deliveryFileName = (messageIds: readonly string[]) => `d-${digest([...new Set(messageIds)])}.parquet`;

/** Quotes a value as a SQL string literal. */
export const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;
