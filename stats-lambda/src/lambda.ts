/**
 * The stats service on AWS Lambda: ingest and the report API behind an HTTP API. With
 * EVENT_BUCKET set, ingest also appends to the event store on S3, and reports, event types and
 * previews come from it: each query mirrors its project into /tmp (event-store/s3-mirror.ts)
 * and runs the metric engine there; a project over EVENT_MIRROR_MAX_BYTES is refused (docs/event-store.md).
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { handle } from "hono/aws-lambda";
import { flagReader, tokenLookup } from "../../shared/node/control-plane-table.js";
import { createDb } from "../../shared/node/dynamo.js";
import { createStatsApp } from "./app.js";
import { createCatalog } from "./catalog.js";
import { createStatsStore } from "./store.js";
import { s3Sink } from "./event-store/s3-sink.js";
import { createEventStoreWriter, createWriterDuckDB } from "./event-store/writer.js";
import { maxProjectBytesFrom, mirroredEngine, s3Mirror } from "./event-store/s3-mirror.js";
import { createMetricEngine } from "./metric-engine/index.js";
import { requiredEnv, secret } from "../../shared/node/secrets.js";

const controlPlane = createDb({ table: requiredEnv("CONTROL_PLANE_TABLE") });
const stats = createStatsStore(createDb({ table: requiredEnv("STATS_TABLE"), exactNumbers: true }));
const eventBucket = process.env["EVENT_BUCKET"];
const eventPrefix = process.env["EVENT_PREFIX"] ?? "";
const mirrorRoot = join(tmpdir(), "event-store-mirror");
const metricEngine = eventBucket
  ? mirroredEngine(
      s3Mirror({
        bucket: eventBucket,
        prefix: eventPrefix,
        root: mirrorRoot,
        maxProjectBytes: maxProjectBytesFrom(process.env["EVENT_MIRROR_MAX_BYTES"]),
      }),
      createMetricEngine({ root: mirrorRoot }),
    )
  : undefined;
const eventStore = eventBucket
  ? createWriterDuckDB().then((duckdb) =>
      createEventStoreWriter({
        sink: s3Sink({ bucket: eventBucket, prefix: eventPrefix }),
        duckdb,
      }),
    )
  : Promise.resolve(undefined);
// The ingest secret comes from Secrets Manager (INGEST_SECRET_SECRET_ARN) on the first request.
const app = Promise.all([secret("INGEST_SECRET"), eventStore]).then(([ingestSecret, writer]) =>
  handle(
    createStatsApp({
      stats,
      catalog: createCatalog(flagReader(controlPlane)),
      tokens: tokenLookup(controlPlane),
      ingestSecret,
      metricEngine,
      ...(writer ? { eventStore: writer } : {}),
    }),
  ),
);

export const handler = async (event: Parameters<Awaited<typeof app>>[0], context: Parameters<Awaited<typeof app>>[1]) =>
  (await app)(event, context);
