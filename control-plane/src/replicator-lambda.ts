/**
 * The replicator on the table's DynamoDB stream (NEW_AND_OLD_IMAGES). A failure throws,
 * so Lambda retries the batch (bisecting on error) and sends what keeps failing to the
 * dead-letter queue; the publish state on the deployment shows the error meanwhile.
 */
import type { DynamoDBStreamEvent } from "aws-lambda";
import { cloudKv, cloudStore, cloudStreamNotifier } from "./cloud-config.js";
import { createPublisher } from "./publish/publisher.js";
import { replicate, type TableChange } from "./replicator.js";

const store = cloudStore();
const notify = cloudStreamNotifier();
const publisher = createPublisher({ store, kv: cloudKv(), retryDelaysMs: [], ...(notify ? { notify } : {}) });

export async function handler(event: DynamoDBStreamEvent): Promise<void> {
  const changes: TableChange[] = event.Records.flatMap((record) => {
    const keys = record.dynamodb?.Keys;
    if (!keys?.["pk"]?.S || !keys["sk"]?.S) return [];
    const oldData = record.dynamodb?.OldImage?.["data"]?.S;
    const newData = record.dynamodb?.NewImage?.["data"]?.S;
    return [{ pk: keys["pk"].S, sk: keys["sk"].S, ...(oldData ? { oldData } : {}), ...(newData ? { newData } : {}) }];
  });
  await replicate(changes, store, publisher);
}
