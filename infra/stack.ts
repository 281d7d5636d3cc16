/**
 * The AWS side of the platform: the control plane and stats service on Lambda behind
 * HTTP APIs, DynamoDB tables, the replicator on the control-plane table's stream, the
 * secrets, and alarms. Lambda code is bundled locally with esbuild (no Docker).
 * Every function gets exactly the table, stream and secrets it uses.
 * The event store (docs/event-store.md): an S3 bucket of Parquet files the stats function
 * appends to, Glue tables over it with partition projection, and an Athena workgroup with
 * a per-query scan cutoff.
 */
import { CfnOutput, Duration, RemovalPolicy, Size, Stack, type StackProps } from "aws-cdk-lib";
import { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import { CfnDatabase, CfnTable } from "aws-cdk-lib/aws-glue";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { BlockPublicAccess, Bucket, BucketEncryption, StorageClass } from "aws-cdk-lib/aws-s3";
import { CorsHttpMethod, HttpApi, HttpMethod } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, BillingMode, StreamViewType, Table } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { Architecture, Runtime, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from "aws-cdk-lib/aws-lambda-nodejs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RETENTION_DAYS } from "../shared/event-retention.js";
import { TABLES, type ColumnType } from "../stats-lambda/src/event-store/columns.js";

export interface ExperimentsStackProps extends StackProps {
  cloudflareAccountId: string;
  cloudflareKvNamespaceId: string;
  /**
   * The edge worker's URL: the replicator notifies its flag streams of each publish (else they reread KV every 30 s).
   */
  edgeUrl?: string;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The event store's key prefix in its bucket, and Athena's results beside it. */
export const EVENT_PREFIX = "events/";
export const ATHENA_RESULTS_PREFIX = "athena-results/";
/** Athena cancels a query that would scan more (and bills $5 per TB scanned): 10 GiB. */
export const ATHENA_BYTES_SCANNED_CUTOFF = 10 * 1024 ** 3;
/** The first day partition projection enumerates. */
const EVENTS_SINCE = "2025-01-01";
const GLUE_TYPES: Record<ColumnType, string> = {
  VARCHAR: "string",
  BIGINT: "bigint",
  INTEGER: "int",
  BOOLEAN: "boolean",
};
/** DuckDB's native bindings for the function's platform (arm64 Linux), installed beside its bundle. */
const DUCKDB_BINDINGS_VERSION = "1.5.6-r.1";
/** Swagger UI's two files, copied beside each function that serves `/docs` (no CDN). */
const SWAGGER_UI_ASSETS = ["swagger-ui.css", "swagger-ui-bundle.js"].map((file) =>
  join(ROOT, "node_modules/swagger-ui-dist", file),
);

export class ExperimentsStack extends Stack {
  constructor(scope: Construct, id: string, props: ExperimentsStackProps) {
    super(scope, id, props);

    const table = (name: string, stream?: StreamViewType) =>
      new Table(this, name, {
        partitionKey: { name: "pk", type: AttributeType.STRING },
        sortKey: { name: "sk", type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: RemovalPolicy.RETAIN,
        ...(stream ? { stream } : {}),
      });
    const controlTable = table("ControlPlaneTable", StreamViewType.NEW_AND_OLD_IMAGES);
    // Dedup and settle markers of the stats service expire after 7 days (attribute expiresAt).
    const statsTable = new Table(this, "StatsTable", {
      partitionKey: { name: "pk", type: AttributeType.STRING },
      sortKey: { name: "sk", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
      stream: StreamViewType.KEYS_ONLY,
      timeToLiveAttribute: "expiresAt",
    });

    const cloudflareToken = new Secret(this, "CloudflareApiToken", {
      description: "Cloudflare API token with Workers KV Storage:Edit (set its value after the first deploy)",
    });
    const ingestSecret = new Secret(this, "IngestSecret", {
      description: "HMAC secret the edge's queue consumer signs deliveries to the stats service with",
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    const bootstrapToken = new Secret(this, "BootstrapAdminToken", {
      description: "The first admin token of the control plane",
      generateSecretString: { excludePunctuation: true, passwordLength: 40 },
    });

    const BUNDLING = {
      format: OutputFormat.ESM,
      minify: true,
      sourceMap: true,
      target: "node22",
      forceDockerBundling: false,
      mainFields: ["module", "main"],
      banner: "import{createRequire}from'module';const require=createRequire(import.meta.url);",
    };
    // Swagger UI's two assets, for the services' own /docs (shared/node/api-docs.ts).
    const WITH_API_DOCS = {
      ...BUNDLING,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_input: string, output: string) => [
          `mkdir -p ${output}/swagger-ui`,
          `cp ${SWAGGER_UI_ASSETS.join(" ")} ${output}/swagger-ui/`,
        ],
      },
    };
    // The control plane also serves the admin console, bundled beside it (control-plane/src/routes/console.ts).
    const WITH_CONSOLE = {
      ...WITH_API_DOCS,
      commandHooks: {
        ...WITH_API_DOCS.commandHooks,
        afterBundling: (input: string, output: string) => [
          ...WITH_API_DOCS.commandHooks.afterBundling(input, output),
          `cd ${ROOT} && ${join(ROOT, "node_modules/.bin/tsx")} control-plane/console/build.ts ${output}/console`,
        ],
      },
    };
    const fn = (name: string, entry: string, extra: Partial<NodejsFunctionProps>) =>
      new NodejsFunction(this, name, {
        entry: join(ROOT, entry),
        runtime: Runtime.NODEJS_24_X,
        architecture: Architecture.ARM_64,
        memorySize: 512,
        timeout: Duration.seconds(15),
        bundling: BUNDLING,
        ...extra,
        environment: {
          NODE_OPTIONS: "--enable-source-maps",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          ...extra.environment,
        },
      });

    const cloudflareEnv = {
      CLOUDFLARE_ACCOUNT_ID: props.cloudflareAccountId,
      CLOUDFLARE_KV_NAMESPACE_ID: props.cloudflareKvNamespaceId,
      CLOUDFLARE_API_TOKEN_SECRET_ARN: cloudflareToken.secretArn,
    };

    const controlPlane = fn("ControlPlaneFunction", "control-plane/src/lambda.ts", {
      description: "Control-plane admin API and console",
      bundling: WITH_CONSOLE,
      environment: {
        TABLE_NAME: controlTable.tableName,
        BOOTSTRAP_ADMIN_TOKEN_SECRET_ARN: bootstrapToken.secretArn,
        ...cloudflareEnv,
      },
    });
    controlTable.grantReadWriteData(controlPlane);
    cloudflareToken.grantRead(controlPlane);
    bootstrapToken.grantRead(controlPlane);

    const replicatorDlq = new Queue(this, "ReplicatorDeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });
    const replicator = fn("ReplicatorFunction", "control-plane/src/replicator-lambda.ts", {
      description: "Publishes deployments to Cloudflare KV from the control-plane table's stream",
      timeout: Duration.seconds(60),
      environment: { TABLE_NAME: controlTable.tableName, ...cloudflareEnv },
    });
    controlTable.grantReadWriteData(replicator);
    cloudflareToken.grantRead(replicator);
    if (props.edgeUrl) {
      // Put the same value in the worker: `npx wrangler secret put STREAM_NOTIFY_SECRET`.
      const streamNotifySecret = new Secret(this, "StreamNotifySecret", {
        description: "HMAC secret the replicator signs flag-stream notifications to the edge with",
        generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      });
      streamNotifySecret.grantRead(replicator);
      replicator.addEnvironment("EDGE_URL", props.edgeUrl);
      replicator.addEnvironment("STREAM_NOTIFY_SECRET_SECRET_ARN", streamNotifySecret.secretArn);
    }
    replicator.addEventSource(
      new DynamoEventSource(controlTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(1),
        onFailure: new SqsDlq(replicatorDlq),
      }),
    );

    // The release watcher: due schedules and webhook deliveries, every minute. It writes flags (the replicator
    // publishes them from the stream) and its own schedule and webhook items: the table, nothing else.
    const watcher = fn("ReleaseWatcherFunction", "control-plane/src/watcher-lambda.ts", {
      description: "Runs scheduled flag changes and delivers webhook notifications, every minute",
      timeout: Duration.seconds(55),
      environment: { TABLE_NAME: controlTable.tableName },
    });
    controlTable.grantReadWriteData(watcher);
    new Rule(this, "ReleaseWatcherSchedule", {
      description: "Every minute: the release watcher",
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(watcher, { retryAttempts: 2, maxEventAge: Duration.minutes(2) })],
    });

    // The event store. One bucket: Parquet under events/, Athena's results under athena-results/.
    const eventBucket = new Bucket(this, "EventBucket", {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: "events",
          prefix: EVENT_PREFIX,
          // Days older than a month are read rarely (a report's earlier periods): cheaper storage.
          transitions: [{ storageClass: StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(30) }],
          // The longest retention a project may set; a shorter one deletes earlier (shared/event-retention.ts).
          expiration: Duration.days(DEFAULT_RETENTION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: "athena-results",
          prefix: ATHENA_RESULTS_PREFIX,
          expiration: Duration.days(7),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    const glueDatabase = new CfnDatabase(this, "EventDatabase", {
      catalogId: this.account,
      databaseInput: { name: "experiment_events", description: "The event store (docs/event-store.md)" },
    });
    for (const [name, columns] of Object.entries(TABLES)) {
      const location = `s3://${eventBucket.bucketName}/${EVENT_PREFIX}${name}/`;
      const table = new CfnTable(this, `EventTable${name[0]!.toUpperCase()}${name.slice(1)}`, {
        catalogId: this.account,
        databaseName: "experiment_events",
        tableInput: {
          name,
          tableType: "EXTERNAL_TABLE",
          partitionKeys: [
            { name: "project", type: "string" },
            { name: "date", type: "string" },
          ],
          parameters: {
            classification: "parquet",
            EXTERNAL: "TRUE",
            // Partition projection: no crawler, no partition to register. Projects are named in
            // each query (injected), days are a range.
            "projection.enabled": "true",
            "projection.project.type": "injected",
            "projection.date.type": "date",
            "projection.date.format": "yyyy-MM-dd",
            "projection.date.range": `${EVENTS_SINCE},NOW`,
            "projection.date.interval": "1",
            "projection.date.interval.unit": "DAYS",
            "storage.location.template": `${location}project=\${project}/date=\${date}`,
          },
          storageDescriptor: {
            location,
            columns: columns.map((c) => ({ name: c.name, type: GLUE_TYPES[c.type], comment: c.doc.slice(0, 255) })),
            inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            serdeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
          },
        },
      });
      table.addDependency(glueDatabase);
    }
    const workGroup = new CfnWorkGroup(this, "EventWorkGroup", {
      name: `${this.stackName}-events`,
      description: "Metric queries over the event store",
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: ATHENA_BYTES_SCANNED_CUTOFF,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${eventBucket.bucketName}/${ATHENA_RESULTS_PREFIX}`,
          encryptionConfiguration: { encryptionOption: "SSE_S3" },
        },
      },
    });

    const stats = fn("StatsFunction", "stats-lambda/src/lambda.ts", {
      bundling: {
        ...WITH_API_DOCS,
        // DuckDB writes the Parquet files: its native bindings cannot be bundled, and the
        // build machine's are not arm64 Linux's, so those are installed beside the bundle.
        externalModules: ["@aws-sdk/*", "@duckdb/node-bindings"],
        commandHooks: {
          ...WITH_API_DOCS.commandHooks,
          afterBundling: (input: string, output: string) => [
            ...WITH_API_DOCS.commandHooks.afterBundling(input, output),
            `npm install --prefix ${output} --no-save --no-package-lock --no-audit --no-fund --os=linux --cpu=arm64 --libc=glibc @duckdb/node-bindings@${DUCKDB_BINDINGS_VERSION}`,
          ],
        },
      },
      description: "Stats ingest and experiment reports",
      memorySize: 1024,
      // Reports mirror a project's event store into /tmp (up to EVENT_MIRROR_MAX_BYTES, docs/event-store.md).
      ephemeralStorageSize: Size.gibibytes(4),
      // The HTTP API's limit too. An ingest run starts no aggregate write after 20 s, and is
      // known dead (its work adopted by a later run) 60 s after it started.
      timeout: Duration.seconds(30),
      environment: {
        CONTROL_PLANE_TABLE: controlTable.tableName,
        STATS_TABLE: statsTable.tableName,
        INGEST_SECRET_SECRET_ARN: ingestSecret.secretArn,
        EVENT_BUCKET: eventBucket.bucketName,
        EVENT_PREFIX,
        EVENT_DATABASE: "experiment_events",
        ATHENA_WORKGROUP: workGroup.name,
        EVENT_MIRROR_MAX_BYTES: String(2 * 1024 ** 3),
      },
    });
    statsTable.grantReadWriteData(stats);
    controlTable.grantReadData(stats); // experiment definitions and admin tokens
    ingestSecret.grantRead(stats);
    // The event store: append under events/ (never delete or overwrite elsewhere), and query it
    // through Athena, which reads the files and writes results with the caller's rights.
    eventBucket.grantPut(stats, `${EVENT_PREFIX}*`);
    eventBucket.grantRead(stats, `${EVENT_PREFIX}*`);
    eventBucket.grantReadWrite(stats, `${ATHENA_RESULTS_PREFIX}*`);
    const workGroupArn = this.formatArn({ service: "athena", resource: "workgroup", resourceName: workGroup.name });
    stats.addToRolePolicy(
      new PolicyStatement({
        actions: [
          "athena:StartQueryExecution",
          "athena:GetQueryExecution",
          "athena:GetQueryResults",
          "athena:StopQueryExecution",
        ],
        resources: [workGroupArn],
      }),
    );
    stats.addToRolePolicy(
      new PolicyStatement({
        actions: ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
        resources: [
          this.formatArn({ service: "glue", resource: "catalog" }),
          this.formatArn({ service: "glue", resource: "database", resourceName: "experiment_events" }),
          ...Object.keys(TABLES).map((name) =>
            this.formatArn({ service: "glue", resource: "table", resourceName: `experiment_events/${name}` }),
          ),
        ],
      }),
    );

    const controlApi = new HttpApi(this, "ControlPlaneApi", {
      defaultIntegration: new HttpLambdaIntegration("ControlPlaneIntegration", controlPlane),
    });
    // The console (served by the control plane) reads reports from here: bearer tokens, no cookies, so any origin may
    // ask.
    const statsApi = new HttpApi(this, "StatsApi", {
      corsPreflight: {
        allowOrigins: ["*"],
        allowHeaders: ["authorization", "content-type", "accept"],
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
        maxAge: Duration.days(1),
      },
    });
    controlPlane.addEnvironment("STATS_API_URL", statsApi.apiEndpoint);
    // The watcher reads running experiments' reports over the same public API (a viewer token, no IAM grant).
    watcher.addEnvironment("STATS_API_URL", statsApi.apiEndpoint);
    statsApi.addRoutes({
      path: "/{proxy+}",
      methods: [HttpMethod.GET, HttpMethod.POST],
      integration: new HttpLambdaIntegration("StatsIntegration", stats),
    });

    const alarm = (name: string, metric: IMetric, threshold: number, description: string) =>
      new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    for (const [label, f] of [
      ["ControlPlane", controlPlane],
      ["Replicator", replicator],
      ["ReleaseWatcher", watcher],
      ["Stats", stats],
    ] as const) {
      alarm(`${label}Errors`, f.metricErrors({ period: Duration.minutes(5) }), 1, `${label} function errors`);
      alarm(`${label}Throttles`, f.metricThrottles({ period: Duration.minutes(5) }), 1, `${label} function throttles`);
    }
    alarm(
      "ReplicatorDlqDepth",
      replicatorDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      1,
      "Stream batches the replicator gave up on: deployments may be stale at the edge",
    );
    alarm(
      "ReplicationLag",
      replicator.metric("IteratorAge", { statistic: "Maximum", period: Duration.minutes(1) }),
      60_000,
      "The replicator is over a minute behind the control-plane table: flag changes are slow to reach the edge",
    );

    new CfnOutput(this, "ControlPlaneUrl", { value: controlApi.apiEndpoint });
    new CfnOutput(this, "StatsUrl", { value: statsApi.apiEndpoint });
    new CfnOutput(this, "StatsIngestUrl", {
      value: `${statsApi.apiEndpoint}/ingest`,
      description: "STATS_INGEST_URL in wrangler.toml",
    });
    new CfnOutput(this, "IngestSecretArn", {
      value: ingestSecret.secretArn,
      description: "Put its value in the worker: npx wrangler secret put STATS_INGEST_SECRET",
    });
    new CfnOutput(this, "CloudflareApiTokenSecretArn", { value: cloudflareToken.secretArn });
    new CfnOutput(this, "BootstrapAdminTokenSecretArn", { value: bootstrapToken.secretArn });
    new CfnOutput(this, "EventBucketName", { value: eventBucket.bucketName });
    new CfnOutput(this, "AthenaWorkGroup", { value: workGroup.name });
  }
}
