/**
 * The cloud read path for projects small enough for one function: before a report, a
 * project's partitions are mirrored from S3 into a folder under /tmp and the same metric
 * engine as the local server reads that folder. A sync lists the project's prefixes of
 * both tables, downloads only keys whose ETag or size changed, and deletes local files
 * whose keys are gone (compaction replaces small files). A download goes to a temp name
 * (not `*.parquet`, so the engine never lists it) and is renamed into place when whole.
 * A project over `maxProjectBytes` is refused with a 503 pointing to Athena
 * (docs/scaling.md) rather than filling /tmp. Any S3 failure is a 503 with a clear message.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../../../shared/http/errors.js";
import type { MetricEngine } from "../metric-engine/index.js";
import { TABLES, type TableName } from "./columns.js";
import { projectSegment } from "./paths.js";

/**
 * Default bound on one project's store in the mirror; above it, Athena (docs/scaling.md). A
 * cold mirror must fit the HTTP API's 30 s: ≈ 2 GiB at ~100 MB/s from S3 (an estimate, not
 * measured here); the function's /tmp (infra/stack.ts, 4 GiB) leaves room for staging and spill.
 */
export const DEFAULT_MAX_PROJECT_BYTES = 2 * 1024 ** 3;

/** `EVENT_MIRROR_MAX_BYTES`: a positive whole number of bytes; anything else (unset, empty, `5GB`) is the default. */
export function maxProjectBytesFrom(value: string | undefined): number {
  const bytes = Number(value);
  return value?.trim() && Number.isSafeInteger(bytes) && bytes > 0 ? bytes : DEFAULT_MAX_PROJECT_BYTES;
}
/** The manifest is saved every this many downloads, so a sync cut short (a timeout) keeps its progress. */
const SAVE_EVERY = 32;

export interface S3MirrorOptions {
  bucket: string;
  /** Key prefix of the store (`events/`), ending in a slash or empty. */
  prefix?: string;
  client?: S3Client;
  /** The local folder the engine reads (`<root>/<table>/project=…/date=…/<file>.parquet`). */
  root: string;
  /** A project whose objects sum to more is refused (default 2 GiB). */
  maxProjectBytes?: number;
  /** Parallel downloads (default 8). */
  concurrency?: number;
}

export interface SyncResult {
  files: number;
  bytes: number;
  downloaded: number;
  deleted: number;
}

export interface S3Mirror {
  readonly root: string;
  /** Makes the project's local files exactly the objects now under its S3 prefixes. */
  sync(project: string): Promise<SyncResult>;
}

interface Remote {
  /** Path under the root, `/`-separated (the key without the store's prefix). */
  path: string;
  key: string;
  etag: string;
  size: number;
}

/** What each mirrored path was downloaded from, kept beside the files so a warm /tmp survives a new mirror. */
type Manifest = Record<string, { etag: string; size: number }>;

const MANIFEST_FOLDER = ".mirror-manifest";
/** A key's rest below `<table>/project=…/`: one date partition and a plain file name, nothing that could climb out. */
const PARTITION_FILE = /^date=\d{4}-\d{2}-\d{2}\/[A-Za-z0-9._=-]+\.parquet$/;
const TEMP_MARK = ".part-";

const unavailable = (message: string) => new ApiError({ status: 503, message });
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

export function s3Mirror(options: S3MirrorOptions): S3Mirror {
  const client = options.client ?? new S3Client({});
  const prefix = options.prefix ?? "";
  const { root } = options;
  const maxBytes = options.maxProjectBytes ?? DEFAULT_MAX_PROJECT_BYTES;
  const concurrency = options.concurrency ?? 8;
  const tables = Object.keys(TABLES) as TableName[];

  async function list(project: string): Promise<Remote[]> {
    const remotes: Remote[] = [];
    for (const table of tables) {
      const base = `${table}/${projectSegment(project)}/`;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: options.bucket, Prefix: `${prefix}${base}`, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (!object.Key) continue;
          const rest = object.Key.slice(prefix.length + base.length);
          if (!PARTITION_FILE.test(rest)) continue; // not a store file (or a key that would leave the root)
          remotes.push({ path: base + rest, key: object.Key, etag: object.ETag ?? "", size: object.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    return remotes;
  }

  async function download(remote: Remote): Promise<void> {
    const target = join(root, ...remote.path.split("/"));
    const temp = `${target}${TEMP_MARK}${randomUUID()}`;
    await mkdir(dirname(target), { recursive: true });
    try {
      const answer = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: remote.key }));
      if (!answer.Body) throw new Error(`no body for ${remote.key}`);
      await pipeline(answer.Body as Readable, createWriteStream(temp));
      const { size } = await stat(temp);
      if (size !== remote.size) throw new Error(`${remote.key}: got ${size} bytes, listed ${remote.size}`);
      await rename(temp, target); // the engine sees the old file or the whole new one
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  /** Every file under the project's local folders, as `/`-separated paths under the root. */
  async function localFiles(project: string): Promise<string[]> {
    const found: string[] = [];
    for (const table of tables) {
      const dir = join(root, table, projectSegment(project));
      const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of names) {
        if (entry.isFile()) found.push(relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"));
      }
    }
    return found;
  }

  const manifestFile = (project: string) => join(root, MANIFEST_FOLDER, `${encodeURIComponent(project)}.json`);
  const readManifest = async (project: string): Promise<Manifest> => {
    try {
      return JSON.parse(await readFile(manifestFile(project), "utf8")) as Manifest;
    } catch {
      return {};
    }
  };
  const writeManifest = async (project: string, manifest: Manifest) => {
    const file = manifestFile(project);
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}${TEMP_MARK}${randomUUID()}`;
    await writeFile(temp, JSON.stringify(manifest));
    await rename(temp, file);
  };

  async function sync(project: string): Promise<SyncResult> {
    const remotes = await list(project);
    const bytes = remotes.reduce((sum, remote) => sum + remote.size, 0);
    if (bytes > maxBytes)
      throw unavailable(
        `Project ${project}'s event store is ${gib(bytes)}, over the ${gib(maxBytes)} this function mirrors ` +
          "from S3 to compute reports; query it with Athena instead (docs/scaling.md, Metric engine).",
      );
    const manifest = await readManifest(project);
    const local = new Set(await localFiles(project));
    const wanted = new Set(remotes.map((remote) => remote.path));
    const stale = remotes.filter((remote) => {
      const had = manifest[remote.path];
      return !local.has(remote.path) || had?.etag !== remote.etag || had.size !== remote.size;
    });
    // Deletes first: what compaction removed goes before anything new is added, leaving no partial files either.
    let deleted = 0;
    for (const path of local) {
      if (wanted.has(path)) continue;
      await rm(join(root, ...path.split("/")), { force: true });
      delete manifest[path];
      if (!path.includes(TEMP_MARK)) deleted++;
    }
    let downloaded = 0;
    const queue = [...stale];
    let failure: unknown;
    const worker = async () => {
      for (let remote = queue.shift(); remote && failure === undefined; remote = queue.shift()) {
        delete manifest[remote.path];
        try {
          await download(remote);
          manifest[remote.path] = { etag: remote.etag, size: remote.size };
          if (++downloaded % SAVE_EVERY === 0) await writeManifest(project, manifest);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    await writeManifest(project, manifest);
    if (failure !== undefined) throw failure;
    return { files: remotes.length, bytes, downloaded, deleted };
  }

  return {
    root,
    async sync(project) {
      try {
        return await sync(project);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        console.warn(`Event store mirror of ${project} from s3://${options.bucket}/${prefix} failed: ${reason}`);
        throw unavailable(`Could not read project ${project}'s event store from S3; try again shortly`);
      }
    },
  };
}

/**
 * A metric engine whose every query first mirrors its project: one sync-and-query at a
 * time, so a sync never deletes a file under a running query.
 */
export function mirroredEngine(
  mirror: Pick<S3Mirror, "sync">,
  engine: Pick<MetricEngine, "aggregates" | "eventTypes" | "preview">,
): Pick<MetricEngine, "aggregates" | "eventTypes" | "preview"> {
  let queue: Promise<unknown> = Promise.resolve();
  const alone = <T>(project: string, work: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      await mirror.sync(project);
      return work();
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    aggregates: (query) => alone(query.project, () => engine.aggregates(query)),
    eventTypes: (project, since) => alone(project, () => engine.eventTypes(project, since)),
    preview: (project, metric, since, until) => alone(project, () => engine.preview(project, metric, since, until)),
  };
}
