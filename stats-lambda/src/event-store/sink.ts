/**
 * Where the event store's files go. A writer stages each file locally, then hands it to a
 * sink, which makes it visible at its key in one step: a rename on a local disk, one
 * PutObject on S3 (s3-sink.ts). A reader never sees a file half-written.
 */
import { mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface FileSink {
  /** A folder to stage files in, from which `publish` can move them into place. */
  stagingDir(): Promise<string>;
  /** Makes the staged file visible at `key` (a path under the store's root), replacing what was there. */
  publish(staged: string, key: string): Promise<void>;
  /** Where the store is, for the logs. */
  readonly location: string;
}

/** The staging folder under a local root: hidden from the readers' globs, on the same disk so a rename is atomic. */
export const STAGING_FOLDER = ".staging";

/** A store in a local folder (`.data/events/` under `npm start`, a temp folder in tests). */
export function localSink(root: string): FileSink {
  return {
    location: root,
    async stagingDir() {
      const dir = join(root, STAGING_FOLDER);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async publish(staged, key) {
      const target = join(root, key);
      await mkdir(dirname(target), { recursive: true });
      await rename(staged, target); // atomic on one file system: the old file or the new one, never half
    },
  };
}
