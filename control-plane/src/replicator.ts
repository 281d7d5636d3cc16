/**
 * What a batch of table changes (DynamoDB stream records) means for the edge: the
 * deployments to republish and the history entries to write, i.e. steps 3 and 4 of
 * ./commit/commit.ts for changes the API committed. Shared by the replicator Lambda; pure
 * apart from the store and publisher it is given.
 */
import type { Flag } from "../../shared/authoring/schema.js";
import { keys, parseProjectKey } from "../../shared/node/control-plane-table.js";
import { flagChange, followUp, type FollowUp } from "./commit/commit.js";
import type { Project, Store } from "./db/store.js";
import type { Publisher } from "./publish/publisher.js";

const PROJECTS_PK = keys.project("").pk;

export interface TableChange {
  pk: string;
  sk: string;
  oldData?: string;
  newData?: string;
}

/** A project record's breakdown properties (what its documents carry), as text to compare. */
const breakdownPropertiesOf = (data: string | undefined) =>
  JSON.stringify(data ? ((JSON.parse(data) as Project).breakdownProperties ?? []) : []);

/** What follows one stream record, as the commit module runs it; undefined when nothing does. */
function followUpOf(change: TableChange, store: Store): FollowUp | undefined {
  // The project's record: every change moves its counter; only new breakdown properties change what is published.
  if (change.pk === PROJECTS_PK)
    return change.oldData &&
      change.newData &&
      breakdownPropertiesOf(change.oldData) !== breakdownPropertiesOf(change.newData)
      ? { project: change.sk, publish: "all" }
      : undefined;
  const item = parseProjectKey(change);
  if (!item) return undefined; // history, tokens, the project list: nothing to publish
  const { project, kind, key } = item;
  if (kind === "flag") {
    const oldFlag = change.oldData ? (JSON.parse(change.oldData) as Flag) : undefined;
    const newFlag = change.newData ? (JSON.parse(change.newData) as Flag) : undefined;
    return { project, ...flagChange(store, project, newFlag, oldFlag) };
  }
  if (kind === "deployment") return change.newData ? { project, publish: [key] } : undefined;
  // A segment's users are flags whose rules name it: republishing every deployment covers them without a read here.
  if (kind === "group" || kind === "segment") return { project, publish: "all" };
  // Publish states are our own replication state (reacting to them would loop); catalog metrics publish nothing.
  return undefined;
}

export async function replicate(
  changes: TableChange[],
  store: Store,
  publisher: Publisher,
): Promise<Array<[string, string]>> {
  const followUps = changes.map((change) => followUpOf(change, store)).filter((f) => f !== undefined);
  return followUp(store, (project, deployment) => publisher.publish(project, deployment), followUps);
}
