/** The APIs' shapes, as types only: the zod schemas they come from stay on the server. */
export type { Condition, Flag, FlagInput, Metric, Variant } from "../../../shared/authoring/schema.js";
export type { Comparison, LookPoint, MetricReport, Report, Verdict } from "../../../shared/report-schema.js";
export type {
  DeploymentView as Deployment,
  EvaluationExplained as Evaluation,
  GroupView as StoredGroup,
  HistoryEntryView as HistoryEntry,
  ProjectView as Project,
  TokenView as Token,
  TokenView as Me,
} from "../../src/routes/schemas.js";
export type { CatalogMetric } from "../../src/db/records.js";
import type { Segment } from "../../../shared/authoring/segments.js";
import type { Flag } from "../../../shared/authoring/schema.js";
/** A project segment as `GET …/segments` answers it (control-plane/src/segments/segments.ts, `SegmentView`). */
export type StoredSegment = Segment &
  Pick<Flag, "version" | "createdAt" | "updatedAt" | "lastChange"> & { usedBy: string[] };
import type { TokenView } from "../../src/routes/schemas.js";
export type Role = TokenView["role"];
