/**
 * One DynamoDB table for the control plane (single-table design, keys `pk`/`sk`):
 *
 * | pk                    | sk                 | item                                              |
 * | --------------------- | ------------------ | ------------------------------------------------- |
 * | `PROJECTS`            | `<project>`        | project (name, change counter `seq`)              |
 * | `PROJECT#<project>`   | `DEPLOYMENT#<key>` | deployment (client and server API keys)           |
 * | `PROJECT#<project>`   | `FLAG#<key>`       | flag or experiment, current version               |
 * | `PROJECT#<project>`   | `GROUP#<key>`      | mutual-exclusion group or holdout                 |
 * | `PROJECT#<project>`   | `PUBLISH#<key>`    | replication state of a deployment (version, lease)|
 * | `HISTORY#<p>#<flag>`  | `V#<version>`      | a past version of a flag with its audit entry     |
 * | `TOKENS`              | `<sha-256>`        | admin token (hash only), role and scope           |
 *
 * Each state change is one conditional write on the item that owns it; what derives
 * from it (history, published documents) is written idempotently, keyed by version,
 * and repaired by the reconcile pass.
 */
import { ConditionalCheckFailedException, CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

export interface Db {
  client: DynamoDBDocumentClient;
  table: string;
}

export const keys = {
  projects: () => ({ pk: "PROJECTS" }),
  project: (project: string) => ({ pk: "PROJECTS", sk: project }),
  deployment: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `DEPLOYMENT#${key}` }),
  flag: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `FLAG#${key}` }),
  group: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `GROUP#${key}` }),
  publish: (project: string, deployment: string) => ({ pk: `PROJECT#${project}`, sk: `PUBLISH#${deployment}` }),
  history: (project: string, flag: string, version: number) => ({ pk: `HISTORY#${project}#${flag}`, sk: `V#${String(version).padStart(10, "0")}` }),
  historyOf: (project: string, flag: string) => ({ pk: `HISTORY#${project}#${flag}` }),
  token: (hash: string) => ({ pk: "TOKENS", sk: hash }),
  tokens: () => ({ pk: "TOKENS" }),
};

/** A conditional write lost to the item's current state (by class, or by name across SDK copies). */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === "ConditionalCheckFailedException";

export interface DbOptions {
  table: string;
  endpoint?: string;
  region?: string;
}

export function createDb({ table, endpoint, region }: DbOptions): Db {
  const client = new DynamoDBClient({
    region: region ?? process.env["AWS_REGION"] ?? "us-east-1",
    ...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  return { client: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), table };
}

/** Creates the table when missing (local runs and tests; the CDK app owns it in the cloud). */
export async function ensureTable(db: Db): Promise<void> {
  try {
    await db.client.send(new DescribeTableCommand({ TableName: db.table }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await db.client.send(
    new CreateTableCommand({
      TableName: db.table,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        { AttributeName: "pk", AttributeType: "S" },
        { AttributeName: "sk", AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ],
    }),
  );
}
