/**
 * Replication of a deployment to the edge: compile the deployment's served flags to
 * the evaluation model and write one document per API key to KV.
 *
 * Ordering: publishers of one deployment take a lease in DynamoDB, and whoever holds it
 * compiles the *latest* state and writes it as the deployment's next version, reserved in
 * DynamoDB *before* KV is written: a publish that wrote KV and then lost DynamoDB has
 * still used its version, so the next one is higher and a version never names two
 * contents (the edge ignores a document whose version it has; documents also carry a
 * content hash). A publisher that finds the lease taken leaves; the holder checks the
 * project's change counter before and after letting go and publishes again if it moved.
 * The lease lasts 10 s and is re-entrant, so the holder's own retry is not locked out by
 * a release that failed. Failures are recorded on the deployment (`status`, `lastError`,
 * `attempts`) when DynamoDB allows, and retried with backoff; the edge keeps serving the
 * last good version meanwhile, and reconcile compares what KV holds.
 */
import { createHash, randomUUID } from "node:crypto";
import { toEvaluationFlags } from "../../../shared/authoring/to-evaluation-model.js";
import type { EvaluationFlag } from "../../../shared/evaluation/index.js";
import { kvNameForApiKey, type DeploymentDocument } from "../../../shared/deployment-document.js";
import type { Deployment, PublishState, Store } from "../db/store.js";
import { byKey } from "../segments/segment-store.js";
import type { KvWriter } from "./kv-writer.js";
import type { StreamNotifier } from "./stream-notifier.js";

/** One flag's content, hashed: an isolate keeps a flag compiled across publishes while this stays the same. */
export const flagContentHash = (flag: EvaluationFlag): string =>
  createHash("sha256").update(JSON.stringify(flag)).digest("base64url").slice(0, 16);

/**
 * What a deployment's published documents depend on: its keys, its compiled flags and the
 * project's breakdown properties (left out when there are none, so that the hashes of
 * projects without any stay what they were).
 */
export const contentHash = (
  deployment: Deployment,
  flags: EvaluationFlag[],
  breakdownProperties: readonly string[] = [],
): string =>
  createHash("sha256")
    .update(
      JSON.stringify([
        deployment.clientKey,
        deployment.serverKey,
        deployment.retiredKeys,
        flags,
        ...(breakdownProperties.length > 0 ? [breakdownProperties] : []),
      ]),
    )
    .digest("base64url");

export interface PublisherOptions {
  store: Store;
  kv: KvWriter;
  /** Retry a failed publish after these delays (ms); none in Lambda, where the stream retries. */
  retryDelaysMs?: number[];
  leaseMs?: number;
  /** Cloudflare KV's value limit, 25 MiB; lower in tests. */
  maxDocumentBytes?: number;
  /** Hands each published document to the edge's flag streams (servers connected to /sdk/stream/v1/flags). */
  notify?: StreamNotifier;
  log?: (message: string, error?: unknown) => void;
}

export interface Publisher {
  /**
   * Publishes the deployment's latest state. Resolves once it is in KV, or once a
   * failure is recorded and a retry scheduled; rejects only when no retry is left
   * (with no retry delays, as in Lambda, at once: the stream redelivers).
   */
  publish(project: string, deployment: string): Promise<void>;
  /** Waits for background retries (tests, shutdown). */
  idle(): Promise<void>;
}

export const KV_VALUE_LIMIT_BYTES = 25 * 2 ** 20;

export function createPublisher({
  store,
  kv,
  retryDelaysMs = [200, 1000, 5000, 15000],
  leaseMs = 10_000,
  maxDocumentBytes = KV_VALUE_LIMIT_BYTES,
  notify,
  log = console.error,
}: PublisherOptions): Publisher {
  const retries = new Set<Promise<void>>();

  /** Compiles the latest state and writes it to KV as the next version. */
  async function publishOnce(
    project: string,
    deploymentKey: string,
    owner: string,
  ): Promise<{ seq: number; version: number; contentHash: string } | undefined> {
    const seq = await store.currentSeq(project);
    const deployment = await store.getDeployment(project, deploymentKey);
    if (!deployment) return undefined;
    const [flags, groups, segments, projectRecord] = await Promise.all([
      store.listFlags(project),
      store.listGroups(project),
      store.listSegments(project),
      store.getProject(project),
    ]);
    const compiled = toEvaluationFlags(deploymentKey, flags, byKey(groups), byKey(segments));
    const breakdownProperties = projectRecord?.breakdownProperties ?? [];
    const hash = contentHash(deployment, compiled, breakdownProperties);
    const version = await store.reserveVersion(project, deploymentKey, owner);
    const publishedAt = new Date().toISOString();
    const flagHashes = Object.fromEntries(compiled.map((flag) => [flag.key, flagContentHash(flag)]));
    const document = (keyType: DeploymentDocument["keyType"]): string =>
      JSON.stringify({
        schemaVersion: 1,
        project,
        deployment: deploymentKey,
        keyType,
        version,
        contentHash: hash,
        publishedAt,
        trackExposures: true,
        flags: compiled,
        flagHashes,
        ...(breakdownProperties.length > 0 ? { breakdownProperties } : {}),
      } satisfies DeploymentDocument);
    const serverDocument = document("server");
    const size = Buffer.byteLength(serverDocument);
    if (size > maxDocumentBytes) {
      // KV refuses values over 25 MiB: say so plainly (the last good version stays served).
      throw new Error(
        `Deployment ${deploymentKey} compiles to ${(size / 2 ** 20).toFixed(1)} MiB, ` +
          `over the ${(maxDocumentBytes / 2 ** 20).toFixed(0)} MiB a KV value holds: ` +
          "serve some of its flags on another deployment",
      );
    }
    await kv.put([
      { key: kvNameForApiKey(deployment.clientKey), value: document("client") },
      { key: kvNameForApiKey(deployment.serverKey), value: serverDocument },
    ]);
    // Only server keys stream; a retired key's streams close. Never fails the publish.
    await notify?.([
      { key: deployment.serverKey, document: serverDocument },
      ...deployment.retiredKeys.map((key) => ({ key, document: null })),
    ]).catch((error: unknown) =>
      log(
        `Flag-stream notification for ${project}/${deploymentKey} failed; streams catch up from KV within 30 s`,
        error,
      ),
    );
    if (deployment.retiredKeys.length) {
      await kv.delete(deployment.retiredKeys.map(kvNameForApiKey));
      // Only if no rotation happened meanwhile (its new retired key must stay listed); redone next time if lost.
      await store.putDeployment(project, { ...deployment, retiredKeys: [] }, deployment).catch(() => undefined);
    }
    return { seq, version, contentHash: hash };
  }

  /**
   * One publish and its retries share a lease owner: a retry retakes a lease its failed
   * attempt could not release, while two concurrent publishes still exclude each other.
   */
  async function publish(
    project: string,
    deployment: string,
    attempt = 0,
    owner: string = randomUUID(),
  ): Promise<void> {
    let previous: PublishState | undefined;
    try {
      if (!(await store.acquireLease(project, deployment, owner, leaseMs))) return; // the holder will see our change
      previous = await store.getPublishState(project, deployment);
    } catch (error) {
      return failed(project, deployment, attempt, owner, undefined, error, false); // DynamoDB unavailable: retry later
    }
    let state: PublishState | undefined;
    try {
      // Publish until what is in KV is the latest change (a write may land while we publish).
      for (let round = 0; round < 5; round++) {
        const result = await publishOnce(project, deployment, owner);
        if (!result) break;
        state = {
          deployment,
          publishedVersion: result.version,
          compiledSeq: result.seq,
          contentHash: result.contentHash,
          status: "ok",
          publishedAt: new Date().toISOString(),
          attempts: 0,
        };
        if ((await store.currentSeq(project)) === result.seq) break;
      }
      // the deployment is gone
      if (!state) return await store.deletePublishState(project, deployment).then(() => undefined);
      await store.releaseLease(project, deployment, owner, state);
    } catch (error) {
      return failed(project, deployment, attempt, owner, previous, error);
    }
    // A change that arrived while we held the lease found it taken and left to us.
    if ((await store.currentSeq(project)) > state.compiledSeq) await publish(project, deployment, attempt, owner);
  }

  /** Records the failure (when the state could be read, so as not to overwrite it blind) and schedules the retry. */
  async function failed(
    project: string,
    deployment: string,
    attempt: number,
    owner: string,
    previous: PublishState | undefined,
    error: unknown,
    stateRead = true,
  ): Promise<void> {
    const attempts = (previous?.attempts ?? 0) + 1;
    log(`Publishing ${project}/${deployment} failed (attempt ${attempts})`, error);
    if (stateRead)
      await store
        .releaseLease(project, deployment, owner, {
          deployment,
          publishedVersion: previous?.publishedVersion ?? 0,
          compiledSeq: previous?.compiledSeq ?? 0,
          contentHash: previous?.contentHash ?? "",
          status: "error",
          lastError: (error as Error).message ?? String(error),
          attempts,
          ...(previous?.publishedAt ? { publishedAt: previous.publishedAt } : {}),
        })
        // DynamoDB may be what failed: the retry still comes (the lease is ours to retake), or the lease expires.
        .catch((releaseError: unknown) =>
          log(`Recording the failed publish of ${project}/${deployment} failed too`, releaseError),
        );
    const delay = retryDelaysMs[attempt];
    if (delay === undefined) throw error;
    const retry = new Promise<void>((resolve) => setTimeout(resolve, delay))
      .then(() => publish(project, deployment, attempt + 1, owner))
      .catch(() => undefined)
      .finally(() => retries.delete(retry));
    retries.add(retry);
  }

  return {
    publish: (project, deployment) => publish(project, deployment),
    async idle() {
      while (retries.size) await Promise.all([...retries]);
    },
  };
}
