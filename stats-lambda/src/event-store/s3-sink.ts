/**
 * The event store on S3 (the stats Lambda): files are staged in the function's /tmp and
 * published with one PutObject each, which S3 makes visible whole or not at all; the same
 * key written again (a redelivery) replaces the object. Keys are `<prefix><table>/project=…
 * /date=…/<file>.parquet`, the layout the Glue tables (infra/stack.ts) project.
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileSink } from "./sink.js";

export interface S3SinkOptions {
  bucket: string;
  /** Key prefix of the store (`events/`), ending in a slash or empty. */
  prefix?: string;
  client?: S3Client;
  /** Where to stage (default: the OS temp folder, /tmp on Lambda). */
  stagingRoot?: string;
}

export function s3Sink(options: S3SinkOptions): FileSink {
  const client = options.client ?? new S3Client({});
  const prefix = options.prefix ?? "";
  const staging = join(options.stagingRoot ?? tmpdir(), "event-store-staging");
  return {
    location: `s3://${options.bucket}/${prefix}`,
    async stagingDir() {
      await mkdir(staging, { recursive: true });
      return staging;
    },
    async publish(staged, key) {
      // A delivery's files are small (one per partition, ≤ 6 MiB of messages in all): one PUT each.
      const body = await readFile(staged);
      await client.send(
        new PutObjectCommand({
          Bucket: options.bucket,
          Key: `${prefix}${key}`,
          Body: body,
          ContentType: "application/vnd.apache.parquet",
        }),
      );
      await unlink(staged).catch(() => {});
    },
  };
}
