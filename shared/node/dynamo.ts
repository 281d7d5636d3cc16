/**
 * DynamoDB plumbing shared by the Node services (control plane, stats): the client,
 * table creation for local runs, and the batch and paging loops every caller needs.
 * Node-only: nothing the Worker bundles imports this folder.
 *
 * `DYNAMODB_ENDPOINT` (or an explicit `endpoint`) points every service at any
 * DynamoDB-compatible server: dynalite, DynamoDB Local, a latency or fault proxy, AWS.
 */
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DeleteCommand,
  DynamoDBDocumentClient,
  type PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

export interface Db {
  client: DynamoDBDocumentClient;
  table: string;
}

export type Key = Record<string, string>;
export type Item = Record<string, unknown>;

/** A conditional write lost to the item's current state (by class, or by name across SDK copies). */
const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string })?.name === "ConditionalCheckFailedException";

/**
 * Sends a conditional write: true when it was written, false when its condition failed (the
 * item's state said no); any other error is thrown.
 */
export async function writeIf(db: Db, command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
  try {
    // One call for the three command types: the client's overloads take them one at a time.
    await db.client.send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** DynamoDB errors that mean "try again later", as opposed to a bad request. */
const UNAVAILABLE = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "NetworkingError",
]);

/**
 * Whether an error says DynamoDB is unavailable (throttled, failing, or unreachable: the
 * SDK gives up after its retries with a network error such as ECONNRESET or a socket hang
 * up). APIs answer 503 with Retry-After for these, never 500.
 */
export function isUnavailable(error: unknown): boolean {
  const e = error as
    | { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; message?: string }
    | undefined;
  if (!e) return false;
  if (UNAVAILABLE.has(e.name ?? "") || (e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  if (["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN"].includes(e.code ?? "")) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|connect ETIMEDOUT/i.test(e.message ?? "");
}

export interface DbOptions {
  table: string;
  /** Any DynamoDB-compatible endpoint; AWS's regional endpoint when absent. */
  endpoint?: string;
  region?: string;
  /**
   * Read numbers as `NumberValue` (exact decimal strings) instead of JS numbers: for
   * sums that may pass 2^53, which the default unmarshaller refuses to read.
   */
  exactNumbers?: boolean;
  /**
   * Gives up on a request after this long without an answer (each attempt; the SDK retries twice): a DynamoDB that
   * accepts connections and never answers must end in a 503, not in requests pending forever. Defaults to
   * `DYNAMODB_REQUEST_TIMEOUT_MS` or 5 s.
   */
  requestTimeoutMs?: number;
  /** Gives up on opening a connection after this long; defaults to `DYNAMODB_CONNECT_TIMEOUT_MS` or 2 s. */
  connectTimeoutMs?: number;
}

const msFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

export function createDb({ table, endpoint, region, exactNumbers, requestTimeoutMs, connectTimeoutMs }: DbOptions): Db {
  // A local endpoint needs some credentials; a real one uses the environment's.
  const local = endpoint !== undefined && !process.env["AWS_ACCESS_KEY_ID"];
  const client = new DynamoDBClient({
    region: region ?? process.env["AWS_REGION"] ?? "us-east-1",
    // Without these the SDK waits forever on a connection that was accepted and never answered.
    requestHandler: {
      connectionTimeout: connectTimeoutMs ?? msFromEnv("DYNAMODB_CONNECT_TIMEOUT_MS", 2000),
      requestTimeout: requestTimeoutMs ?? msFromEnv("DYNAMODB_REQUEST_TIMEOUT_MS", 5000),
      throwOnRequestTimeout: true, // otherwise a request past its timeout is only logged, and still waits
    },
    ...(endpoint ? { endpoint } : {}),
    ...(local ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
  });
  return {
    client: DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
      ...(exactNumbers ? { unmarshallOptions: { wrapNumbers: true } } : {}),
    }),
    table,
  };
}

const TABLE_ACTIVE_TIMEOUT_MS = 60_000;

/**
 * Waits until the table is ACTIVE: a table just created is CREATING for a while (half a second on dynalite, longer
 * on AWS), and using it then fails with ResourceNotFoundException.
 */
async function waitUntilActive(db: Db): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.table }));
      if (Table?.TableStatus === "ACTIVE") return;
    } catch (error) {
      if (!isNotFound(error)) throw error; // not visible yet right after CreateTable on some servers
    }
    if (Date.now() > deadline) throw new Error(`Table ${db.table} did not become ACTIVE`);
    await backoff(attempt);
  }
}

const isNotFound = (error: unknown): boolean =>
  error instanceof ResourceNotFoundException || (error as { name?: string })?.name === "ResourceNotFoundException";

/**
 * Creates the table when missing (local runs and tests; the CDK app owns it in the cloud), and returns once it is
 * ACTIVE.
 */
export async function ensureTable(db: Db): Promise<void> {
  try {
    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.table }));
    if (Table?.TableStatus !== "ACTIVE") await waitUntilActive(db); // another service's start is creating it
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
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
  } catch (error) {
    // Two services starting at once against the same endpoint both try to create it.
    if (!(error instanceof ResourceInUseException) && (error as { name?: string })?.name !== "ResourceInUseException")
      throw error;
  }
  await waitUntilActive(db);
}

/** Every item of a query, page after page. */
export async function queryAll(db: Db, input: Omit<QueryCommandInput, "TableName">): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await db.client.send(
      new QueryCommand({ TableName: db.table, ConsistentRead: true, ...input, ExclusiveStartKey }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

const BATCH_GET = 100; // DynamoDB's limit per BatchGetItem
const BATCH_WRITE = 25; // and per BatchWriteItem
const UNPROCESSED_RETRIES = 8;
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.min(1000, 20 * 2 ** attempt)));

const chunks = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/**
 * Strongly consistent reads of many items: 100 keys a request, requests concurrent,
 * unprocessed keys (throttling) retried with backoff. Returns the items found, by
 * `pk` + "\n" + `sk`.
 */
export async function batchGet(db: Db, keys: readonly Key[], concurrency = 16): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const unique = [...new Map(keys.map((key) => [itemId(key), key])).values()];
  await mapConcurrent(chunks(unique, BATCH_GET), concurrency, async (chunk) => {
    let pending: Key[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const response = await db.client.send(
        new BatchGetCommand({ RequestItems: { [db.table]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of response.Responses?.[db.table] ?? []) found.set(itemId(item as Key), item);
      pending = (response.UnprocessedKeys?.[db.table]?.Keys as Key[] | undefined) ?? [];
    }
  });
  return found;
}

/**
 * Unconditional puts of many items: 25 a request, concurrent, unprocessed ones retried.
 * Items with the same key are written once, the last one (DynamoDB refuses a request that
 * names a key twice: an event counted by two experiments has one dedup marker).
 */
export async function batchPut(db: Db, items: readonly Item[], concurrency = 16): Promise<void> {
  const unique = [...new Map(items.map((item) => [itemId(item as Key), item])).values()];
  await mapConcurrent(chunks(unique, BATCH_WRITE), concurrency, async (chunk) => {
    let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > UNPROCESSED_RETRIES) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const response = await db.client.send(new BatchWriteCommand({ RequestItems: { [db.table]: pending } }));
      pending = (response.UnprocessedItems?.[db.table] as typeof pending | undefined) ?? [];
    }
  });
}

/** An item's identity in the maps above. */
export const itemId = (key: { pk?: unknown; sk?: unknown }): string => `${String(key.pk)}\n${String(key.sk)}`;

/**
 * Runs `task` over `list` with at most `concurrency` at once; rejects with the first failure, once nothing is in
 * flight.
 */
export async function mapConcurrent<T, R>(
  list: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(list.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < list.length && !failure) {
      const index = next++;
      try {
        results[index] = await task(list[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // On a failure no new task starts, and the call rejects only once the tasks in flight have
  // ended: nothing of a failed call keeps writing after its caller has seen it fail.
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
