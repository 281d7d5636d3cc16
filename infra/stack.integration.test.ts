/**
 * The CDK app synthesized offline (esbuild bundling, no Docker, no account), checked
 * with aws-cdk-lib/assertions: tables, functions, the stream source, alarms, and IAM
 * scoped to exactly what each function uses.
 */
import { App } from "aws-cdk-lib";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVENT_COLUMNS, EXPOSURE_COLUMNS } from "../stats-lambda/src/event-store/columns.js";
import { ATHENA_BYTES_SCANNED_CUTOFF, ExperimentsStack } from "./stack.js";

let template: Template;
// Synthesized assets (the functions' bundles) go to a folder of this run, removed afterwards.
const CDK_OUT = mkdtempSync(join(tmpdir(), "cdk-test-"));
afterAll(() => rmSync(CDK_OUT, { recursive: true, force: true }));

beforeAll(() => {
  const app = new App({ outdir: CDK_OUT });
  template = Template.fromStack(
    new ExperimentsStack(app, "Test", { cloudflareAccountId: "acc", cloudflareKvNamespaceId: "ns" }),
  );
}, 180_000);

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
const statements = (): Statement[] =>
  Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );

describe("CDK app", () => {
  it("defines on-demand tables with point-in-time recovery and a stream on the control-plane table", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 2);
    template.allResourcesProperties("AWS::DynamoDB::Table", {
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    });
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
    });
  });

  it("runs the functions on arm64 with a current Node runtime and the environment they read", () => {
    const functions = template.findResources("AWS::Lambda::Function");
    const ours = Object.values(functions).filter(
      (f) => (f as { Properties: { Handler?: string } }).Properties.Handler === "index.handler",
    );
    expect(ours).toHaveLength(4);
    for (const f of ours as Array<{ Properties: Record<string, any> }>) {
      expect(f.Properties["Architectures"]).toEqual(["arm64"]);
      expect(f.Properties["Runtime"]).toBe("nodejs24.x");
      expect(f.Properties["MemorySize"]).toBeGreaterThanOrEqual(512);
    }
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          CLOUDFLARE_ACCOUNT_ID: "acc",
          CLOUDFLARE_KV_NAMESPACE_ID: "ns",
          CLOUDFLARE_API_TOKEN_SECRET_ARN: Match.anyValue(),
          BOOTSTRAP_ADMIN_TOKEN_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          CONTROL_PLANE_TABLE: Match.anyValue(),
          STATS_TABLE: Match.anyValue(),
          INGEST_SECRET_SECRET_ARN: Match.anyValue(),
        }),
      },
    });
    // No secret value in the template: only ARNs.
    expect(JSON.stringify(template.toJSON())).not.toMatch(/CLOUDFLARE_API_TOKEN"\s*:|INGEST_SECRET"\s*:/);
  });

  it("ships Swagger UI's assets with the control-plane and stats functions, so /docs needs no CDN", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function")) as Array<{
      Properties: { Description?: string; Code: { S3Key: string } };
    }>;
    for (const description of ["Control-plane admin API and console", "Stats ingest and experiment reports"]) {
      const fn = functions.find((f) => f.Properties.Description === description);
      expect(fn, description).toBeDefined();
      const asset = join(CDK_OUT, `asset.${fn!.Properties.Code.S3Key.replace(/\.zip$/, "")}`);
      expect(readdirSync(asset)).toContain("index.mjs");
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"])
        expect(existsSync(join(asset, "swagger-ui", file))).toBe(true);
    }
  });

  it("ships the console with the control plane, told where the stats API is, whose CORS lets it read", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function")) as Array<{
      Properties: {
        Description?: string;
        Code: { S3Key: string };
        Environment: { Variables: Record<string, unknown> };
      };
    }>;
    const fn = functions.find((f) => f.Properties.Description === "Control-plane admin API and console")!;
    const asset = join(CDK_OUT, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, "")}`);
    for (const file of ["app.js", "app.css"])
      expect(readFileSync(join(asset, "console", file), "utf8").length).toBeGreaterThan(1000);
    expect(fn.Properties.Environment.Variables["STATS_API_URL"]).toBeDefined();
    template.hasResourceProperties("AWS::ApiGatewayV2::Api", {
      CorsConfiguration: { AllowOrigins: ["*"], AllowHeaders: ["authorization", "content-type", "accept"] },
    });
  });

  it("feeds the replicator from the stream in batches, bisecting errors, with a dead-letter queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      StartingPosition: "TRIM_HORIZON",
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.resourceCountIs("AWS::SQS::Queue", 1);
  });

  it("alarms on errors, throttles, dead letters and replication lag", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")) as Array<{
      Properties: { MetricName?: string };
    }>;
    const names = alarms.map((a) => a.Properties.MetricName);
    expect(names.filter((n) => n === "Errors")).toHaveLength(4);
    expect(names.filter((n) => n === "Throttles")).toHaveLength(4);
    expect(names).toContain("ApproximateNumberOfMessagesVisible");
    expect(names).toContain("IteratorAge");
  });

  it("grants no wildcard actions, and wildcard resources only where AWS has no resource ARN", () => {
    const all = statements();
    expect(all.length).toBeGreaterThan(5);
    for (const statement of all) {
      const actions = ([] as string[]).concat(statement.Action);
      expect(
        actions.some((a) => a === "*" || a.endsWith(":*")),
        JSON.stringify(statement),
      ).toBe(false);
      const resources = ([] as unknown[]).concat(statement.Resource);
      // ListStreams has no resource-level permission
      if (resources.includes("*")) expect(actions, JSON.stringify(statement)).toEqual(["dynamodb:ListStreams"]);
    }
  });

  it("runs the release watcher every minute, with the control-plane table and nothing else", () => {
    const rules = Object.values(template.findResources("AWS::Events::Rule")) as Array<{
      Properties: { ScheduleExpression: string; Targets: Array<{ Arn: unknown; RetryPolicy?: unknown }> };
    }>;
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties.ScheduleExpression).toBe("rate(1 minute)");
    expect(JSON.stringify(rules[0]!.Properties.Targets[0]!.Arn)).toContain("ReleaseWatcherFunction");
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Principal: "events.amazonaws.com",
      FunctionName: Match.objectLike({ "Fn::GetAtt": [Match.stringLikeRegexp("^ReleaseWatcherFunction"), "Arn"] }),
    });
    const [, policy] = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.startsWith("ReleaseWatcherFunction"),
    )!;
    const granted = (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
      .Statement;
    for (const statement of granted) {
      const resources = JSON.stringify(statement.Resource);
      expect(resources.includes("ControlPlaneTable"), resources).toBe(true);
      expect(([] as string[]).concat(statement.Action).every((a) => a.startsWith("dynamodb:"))).toBe(true);
    }
    const watcher = Object.values(template.findResources("AWS::Lambda::Function")).find(
      (f) => JSON.stringify(f).includes("release watcher") || JSON.stringify(f).includes("scheduled flag changes"),
    ) as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(Object.keys(watcher.Properties.Environment.Variables).sort()).toEqual([
      "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
      "NODE_OPTIONS",
      "STATS_API_URL",
      "TABLE_NAME",
    ]);
  });

  it("gives the stats function read-only access to the control-plane table", () => {
    const stats = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.startsWith("StatsFunction"),
    )![1] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
    const writes = stats.Properties.PolicyDocument.Statement.filter((s) =>
      JSON.stringify(s.Resource).includes("ControlPlaneTable"),
    ).flatMap((s) => ([] as string[]).concat(s.Action));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.some((a) => /Put|Update|Delete|Write/.test(a))).toBe(false);
  });

  it("keeps the event store in a private, encrypted bucket with lifecycle rules", () => {
    template.resourceCountIs("AWS::S3::Bucket", 1);
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          {
            Id: "events",
            Prefix: "events/",
            Status: "Enabled",
            Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }],
            ExpirationInDays: 400,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
          {
            Id: "athena-results",
            Prefix: "athena-results/",
            Status: "Enabled",
            ExpirationInDays: 7,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
      },
    });
    // TLS only
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("describes the two tables in Glue with partition projection, and caps Athena's scan per query", () => {
    template.resourceCountIs("AWS::Glue::Database", 1);
    template.resourceCountIs("AWS::Glue::Table", 2);
    for (const [name, columns] of [
      ["exposures", EXPOSURE_COLUMNS],
      ["events", EVENT_COLUMNS],
    ] as const) {
      template.hasResourceProperties("AWS::Glue::Table", {
        DatabaseName: "experiment_events",
        TableInput: Match.objectLike({
          Name: name,
          PartitionKeys: [
            { Name: "project", Type: "string" },
            { Name: "date", Type: "string" },
          ],
          Parameters: Match.objectLike({
            "projection.enabled": "true",
            "projection.project.type": "injected",
            "projection.date.type": "date",
            "projection.date.format": "yyyy-MM-dd",
            "projection.date.range": Match.stringLikeRegexp("^\\d{4}-\\d{2}-\\d{2},NOW$"),
            "storage.location.template": Match.anyValue(),
          }),
          StorageDescriptor: Match.objectLike({
            Columns: columns.map((c) => Match.objectLike({ Name: c.name })),
            SerdeInfo: { SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
          }),
        }),
      });
    }
    // Athena fills the template's placeholders per query (the text holds a literal "${").
    const placeholders = ["project", "date"].map((name) => `${name}=$\{${name}}`).join("/");
    expect(JSON.stringify(template.toJSON())).toContain(`/${placeholders}`);
    template.hasResourceProperties("AWS::Athena::WorkGroup", {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: ATHENA_BYTES_SCANNED_CUTOFF,
        ResultConfiguration: {
          OutputLocation: Match.anyValue(),
          EncryptionConfiguration: { EncryptionOption: "SSE_S3" },
        },
      }),
    });
    expect(JSON.stringify(template.findResources("AWS::Athena::WorkGroup"))).toContain("athena-results/");
  });

  it("lets the stats function write only its events prefix and query only through its workgroup and tables", () => {
    const stats = Object.entries(template.findResources("AWS::IAM::Policy")).find(([id]) =>
      id.startsWith("StatsFunction"),
    )![1] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
    const all = stats.Properties.PolicyDocument.Statement;
    const onBucket = all.filter((s) => JSON.stringify(s.Resource).includes("EventBucket"));
    // Writes (PutObject) and deletes only under a prefix: events/ for puts, athena-results/ for Athena's output.
    for (const statement of onBucket) {
      const actions = ([] as string[]).concat(statement.Action);
      const resources = JSON.stringify(statement.Resource);
      if (actions.some((a) => a.startsWith("s3:PutObject")))
        expect(resources, JSON.stringify(statement)).toMatch(/"\/(events|athena-results)\/\*"/);
      if (actions.some((a) => a.startsWith("s3:DeleteObject")))
        expect(resources, JSON.stringify(statement)).toMatch(/athena-results\/\*/);
    }
    expect(
      onBucket.some(
        (s) =>
          JSON.stringify(s.Resource).includes('/events/*"') &&
          ([] as string[]).concat(s.Action).includes("s3:PutObject"),
      ),
    ).toBe(true);
    const athena = all.find((s) => ([] as string[]).concat(s.Action).includes("athena:StartQueryExecution"))!;
    expect(JSON.stringify(athena.Resource)).toContain("workgroup/");
    const glue = all.find((s) => ([] as string[]).concat(s.Action).includes("glue:GetTable"))!;
    expect(([] as string[]).concat(glue.Action).every((a) => a.startsWith("glue:Get"))).toBe(true);
    expect(JSON.stringify(glue.Resource)).toMatch(/table\/experiment_events\/exposures/);
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({
          EVENT_BUCKET: Match.anyValue(),
          EVENT_PREFIX: "events/",
          ATHENA_WORKGROUP: Match.anyValue(),
          EVENT_MIRROR_MAX_BYTES: String(2 * 1024 ** 3),
        }),
      },
      EphemeralStorage: { Size: 4096 }, // the report's S3 mirror (event-store/s3-mirror.ts) lives in /tmp
    });
  });

  it("installs DuckDB's arm64 Linux bindings beside the stats function's bundle", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function")) as Array<{
      Properties: { Description?: string; Code: { S3Key: string } };
    }>;
    const fn = functions.find((f) => f.Properties.Description === "Stats ingest and experiment reports")!;
    const asset = join(CDK_OUT, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, "")}`);
    expect(existsSync(join(asset, "node_modules/@duckdb/node-bindings-linux-arm64/duckdb.node"))).toBe(true);
    expect(existsSync(join(asset, "node_modules/@duckdb/node-bindings-linux-x64"))).toBe(false);
  });
});
