/**
 * `refs`: where a source tree names flags. A flag is referenced where its key appears as a string literal; a key
 * passed as a literal to an SDK's evaluation call (`variant("…")`, OpenFeature's `getBooleanValue("…")`, …) that is
 * no flag of the project is reported missing: code asking for a flag that does not exist gets the default.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import type { ApiClient } from "./client.js";

/** Evaluation calls of the Amplitude and OpenFeature SDKs (and common wrappers) whose first argument is a flag key. */
export const DEFAULT_CALLS = [
  "variant",
  "getVariant",
  "isEnabled",
  "useFlag",
  "useVariant",
  "getBooleanValue",
  "getStringValue",
  "getNumberValue",
  "getObjectValue",
  "getBooleanDetails",
  "getStringDetails",
  "getNumberDetails",
  "getObjectDetails",
];
export const DEFAULT_EXTENSIONS = [
  ".ts",
  ".tsx",
  ".mts",
  ".cts",
  ".js",
  ".jsx",
  ".mjs",
  ".cjs",
  ".vue",
  ".svelte",
  ".html",
  ".py",
  ".go",
  ".rb",
  ".java",
  ".kt",
  ".swift",
  ".php",
  ".cs",
  ".rs",
  ".dart",
];
const SKIPPED_DIRS = new Set([
  "node_modules",
  ".git",
  "dist",
  "build",
  "coverage",
  ".data",
  ".tmp",
  "vendor",
  "target",
]);
const MAX_FILE_BYTES = 1 << 20;
const KEY = "[A-Za-z0-9][A-Za-z0-9._-]{0,99}";

export interface Location {
  file: string;
  line: number;
}

export interface RefsReport {
  /** Flag key → where it appears. */
  referenced: Record<string, Location[]>;
  /** Keys evaluation calls ask for that are no flag of the project. */
  missing: Record<string, Location[]>;
  /** Flags of the project no file names. */
  unreferenced: string[];
  filesScanned: number;
}

async function* sourceFiles(root: string, dir: string, extensions: Set<string>): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) yield* sourceFiles(root, path, extensions);
    } else if (entry.isFile() && extensions.has(extname(entry.name))) {
      if ((await stat(path)).size <= MAX_FILE_BYTES) yield path;
    }
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const lineAt = (text: string, index: number) => text.slice(0, index).split("\n").length;

export async function findRefs(options: {
  root: string;
  flagKeys: string[];
  calls?: string[];
  extensions?: string[];
}): Promise<RefsReport> {
  const known = new Set(options.flagKeys);
  const calls = options.calls ?? DEFAULT_CALLS;
  const callPattern = new RegExp(`\\b(?:${calls.map(escapeRegExp).join("|")})\\s*\\(\\s*(["'\`])(${KEY})\\1`, "g");
  const literal = new RegExp(`(["'\`])(${KEY})\\1`, "g");
  const referenced: Record<string, Location[]> = {};
  const missing: Record<string, Location[]> = {};
  let filesScanned = 0;
  for await (const path of sourceFiles(options.root, options.root, new Set(options.extensions ?? DEFAULT_EXTENSIONS))) {
    filesScanned++;
    const text = await readFile(path, "utf8");
    const file = relative(options.root, path);
    for (const match of text.matchAll(literal)) {
      if (known.has(match[2]!)) (referenced[match[2]!] ??= []).push({ file, line: lineAt(text, match.index) });
    }
    for (const match of text.matchAll(callPattern)) {
      if (!known.has(match[2]!)) (missing[match[2]!] ??= []).push({ file, line: lineAt(text, match.index) });
    }
  }
  const unreferenced = options.flagKeys.filter((key) => !referenced[key]).sort();
  return { referenced, missing, unreferenced, filesScanned };
}

/** A flag the control plane marks stale (docs/api.md#stale-flags), as `refs` reports it. */
export interface StaleFlag {
  flag: string;
  reason: string;
  message: string;
  /** Whether the source tree still names it: then the code is what to clean up first. */
  referenced: boolean;
}

/** The project's stale flags, from the control plane's evaluation counts. */
export async function readStaleness(
  client: ApiClient,
  project: string,
): Promise<Array<{ flag: string; reason?: string; message?: string }>> {
  return client.request("GET", `/projects/${encodeURIComponent(project)}/stale-flags?stale=true`);
}

/** Code references and staleness together: each stale flag says whether code still names it. */
export function withStaleness(
  report: RefsReport,
  stale: ReadonlyArray<{ flag: string; reason?: string; message?: string }>,
): RefsReport & { stale: StaleFlag[] } {
  return {
    ...report,
    stale: stale
      .map((s) => ({
        flag: s.flag,
        reason: s.reason ?? "",
        message: s.message ?? "",
        referenced: report.referenced[s.flag] !== undefined,
      }))
      .sort((a, b) => a.flag.localeCompare(b.flag)),
  };
}
