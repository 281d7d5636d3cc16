/**
 * A deployment document's text (from KV) into what the edge serves from. The one path a
 * cold isolate and a publish both take, so it is the one bench/cold-start.ts measures.
 *
 * Only the envelope is checked here (readEnvelope); each flag is interpreted on its first
 * evaluation and compiled on its second (shared/evaluation/compile.ts), a flag that cannot
 * be evaluated is served as absent, the full check against the schema runs only for what local-evaluation SDKs are
 * sent (`validFlags`), and a flag the publisher did not change keeps its compiled form from
 * the previous copy (matched by the document's `flagHashes`).
 */
import {
  compile,
  evaluationFlagSchema,
  type CompiledFlagSet,
  type EvaluationFlag,
} from "../../shared/evaluation/index.js";
import { readEnvelope, type KeyType } from "../../shared/deployment-document.js";

export interface LoadedDeployment {
  readonly project: string | undefined;
  readonly deployment: string;
  readonly keyType: KeyType;
  readonly version: number;
  readonly contentHash: string | undefined;
  readonly trackExposures: boolean;
  /** The project's own user properties to keep with each exposure (exposures.ts `breakdownOf`). */
  readonly breakdownProperties: readonly string[] | undefined;
  readonly compiled: CompiledFlagSet;
}

const checkFlag = (flag: EvaluationFlag): EvaluationFlag => evaluationFlagSchema.parse(flag) as EvaluationFlag;

/**
 * Loads `text`, reusing `previous` when the document is the same version and content,
 * and keeping it when the document is older (versions never step back). Throws on a
 * document that is not JSON or whose envelope is not valid; a flag that is not valid is
 * served as absent and reported to `log` when first evaluated.
 */
export function loadDeployment(
  text: string,
  previous?: LoadedDeployment,
  log: (message: string, error?: unknown) => void = console.error,
): LoadedDeployment {
  const raw: unknown = JSON.parse(text);
  const { version, contentHash } = (raw ?? {}) as { version?: unknown; contentHash?: unknown };
  // unchanged: keep the compiled copy
  if (previous && version === previous.version && contentHash === previous.contentHash) return previous;
  const document = readEnvelope(raw);
  if (previous && document.version < previous.version) return previous; // never step back
  return {
    project: document.project,
    deployment: document.deployment,
    keyType: document.keyType,
    version: document.version,
    contentHash: document.contentHash,
    trackExposures: document.trackExposures,
    breakdownProperties: document.breakdownProperties,
    compiled: compile(document.flags, {
      check: checkFlag,
      onInvalid: (flagKey, error) =>
        log(
          `Serving flag ${flagKey} as absent: ` +
            `it is not valid in deployment ${document.deployment} version ${document.version}`,
          error,
        ),
      ...(document.flagHashes ? { hashes: document.flagHashes } : {}),
      ...(previous ? { previous: previous.compiled } : {}),
    }),
  };
}
