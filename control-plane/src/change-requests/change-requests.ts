/**
 * Change requests: where a project (or one of its deployments) requires review, an editor's
 * change of a flag, of a segment such a flag names or of a group it is in, is stored as a request with its diff
 * instead of being applied; another
 * editor (or an admin) approves or rejects it with a comment. Approval applies exactly the
 * reviewed change through the flag service, conditional on the version the request was made
 * on: a flag that moved on meanwhile makes the request `conflicting`, never overwritten.
 *
 * Requests and the review policy are data of their own (`REVIEW#<p>`: `POLICY`, `CR#<id>`),
 * revisioned items (notifications/items.ts): two reviewers racing on one request cannot both
 * win. An approval first claims the request (`approving`, with its reviewer), then applies
 * it, then records the outcome; a retry by the same reviewer finishes a claim it left, and
 * the flag service's replay check recognises a change that already landed.
 */
import diff from "microdiff";
import { randomUUID } from "node:crypto";
import {
  flagInputSchema,
  flagWriteSchema,
  groupSchema,
  type Flag,
  type FlagWrite,
  type Group,
} from "../../../shared/authoring/schema.js";
import { segmentSchema, type Segment } from "../../../shared/authoring/segments.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { Db } from "../../../shared/node/dynamo.js";
import type { EventInput } from "../notifications/events.js";
import { readItem, readItems, writeItem, type Revisioned } from "../notifications/items.js";
import { FLAG_ACTIONS, type FlagAction, type FlagService } from "../services/flags.js";
import type { GroupService } from "../services/groups.js";
import { definitionOf, type SegmentService } from "../segments/segments.js";
import type { StoredSegment } from "../segments/segment-store.js";

export const REQUEST_KINDS = ["create", "update", "action"] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_STATUSES = ["open", "approving", "applied", "rejected", "conflicting", "bypassed"] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export interface ReviewPolicy {
  /** Every flag change of the project needs review. */
  project: boolean;
  /** Changes of flags served on these deployments (before or after the change) need review. */
  deployments: string[];
  updatedBy?: string;
  updatedAt?: string;
}

export interface Review {
  by: string;
  at: string;
  comment: string;
}

export interface ChangeRequest {
  id: string;
  project: string;
  /** What the request changes: a flag, or (kind `update` only) a segment or a group. */
  flag?: string;
  segment?: string;
  group?: string;
  kind: RequestKind;
  /** For `action`: the lifecycle action; `decide` takes `variant`. */
  action?: FlagAction;
  variant?: string;
  /** For `create` and `update`: the flag's editable fields (or the segment) as they will be. */
  input?: FlagWrite | Segment | Group;
  /** The flag's (segment's) version the change applies to (0: the flag does not exist yet). */
  baseVersion: number;
  /** What changes, from the base version's editable fields (microdiff: path, type, old and new values). */
  diff: Array<{ type: string; path: Array<string | number>; value?: unknown; oldValue?: unknown }>;
  title: string;
  description: string;
  author: string;
  createdAt: string;
  status: RequestStatus;
  review?: Review;
  /** The version approval (or an admin's bypass) made. */
  appliedVersion?: number;
  /** When conflicting: the version the flag (segment) had moved to. */
  currentVersion?: number;
  /** An admin's direct change past review: who, and why. */
  bypass?: { by: string; reason: string };
}

export type ChangeRequestInput = {
  flag?: string | undefined;
  segment?: string | undefined;
  group?: string | undefined;
  kind: RequestKind;
  action?: FlagAction | undefined;
  variant?: string | undefined;
  input?: FlagWrite | Segment | Group | undefined;
  baseVersion?: number | undefined;
  title?: string | undefined;
  description?: string | undefined;
};

export interface ChangeRequestFilter {
  status?: RequestStatus | undefined;
  flag?: string | undefined;
  segment?: string | undefined;
  group?: string | undefined;
  author?: string | undefined;
}

/** A resource flags depend on, whose edit changes what they serve: a segment, or a group. */
export type Dependent = { segment: string } | { group: string };

const kindAndKey = (target: Dependent) =>
  "segment" in target ? (["segment", target.segment] as const) : (["group", target.group] as const);

/** A request as answered: `conflicting` also when still open on a flag that has moved on. */
export type ChangeRequestView = ChangeRequest & { conflicting: boolean };

const pk = (project: string) => `REVIEW#${project}`;
const policyKey = (project: string) => ({ pk: pk(project), sk: "POLICY" });
const requestKey = (project: string, id: string) => ({ pk: pk(project), sk: `CR#${id}` });

/** Who the flag's history names for an approved change: both people. */
export const reviewedActor = (request: Pick<ChangeRequest, "author">, approver: string) =>
  `${request.author}, approved by ${approver}`;

export interface ChangeRequestServiceOptions {
  db: Db;
  flags: FlagService;
  segments: SegmentService;
  groups: GroupService;
  /** The project's deployments: a policy may name only these. */
  deploymentKeys: (project: string) => Promise<string[]>;
  now?: () => number;
  /** Told of each request opened, applied, rejected or found conflicting (the project's webhooks). */
  notify?: (project: string, event: EventInput) => Promise<void>;
}

export function createChangeRequestService({
  db,
  flags,
  segments,
  groups,
  deploymentKeys,
  now = Date.now,
  notify,
}: ChangeRequestServiceOptions) {
  const iso = () => new Date(now()).toISOString();

  async function policy(project: string): Promise<ReviewPolicy> {
    return (await readItem<ReviewPolicy>(db, policyKey(project)))?.record ?? { project: false, deployments: [] };
  }

  /** Whether changing `flag` (to `next`) needs review: the project's rule, or a deployment it is served on. */
  async function reviewRequired(project: string, current: Flag | undefined, next?: { deployments?: string[] }) {
    const rule = await policy(project);
    if (rule.project) return { required: true, because: `project ${project} requires review` };
    const touched = new Set([...(current?.deployments ?? []), ...(next?.deployments ?? [])]);
    const guarded = rule.deployments.find((d) => touched.has(d));
    return guarded
      ? { required: true, because: `deployment ${guarded} requires review` }
      : { required: false, because: undefined };
  }

  /**
   * Whether editing a segment (a group) needs review: it does when a flag naming it (in it)
   * does, and says which flag.
   */
  async function dependentReviewRequired(project: string, target: Dependent) {
    const [kind, key] = kindAndKey(target);
    const users =
      "segment" in target
        ? await segments.flagsUsing(project, key)
        : (await flags.list(project)).filter((f) => f.groups.includes(key));
    for (const flag of users) {
      const { required, because } = await reviewRequired(project, flag);
      if (required) return { required, because: `${kind} ${key} is used by flag ${flag.key}; ${because}` };
    }
    return { required: false, because: undefined };
  }

  async function read(project: string, id: string): Promise<Revisioned<ChangeRequest>> {
    const found = await readItem<ChangeRequest>(db, requestKey(project, id));
    if (!found) throw new ApiError({ status: 404, message: `No change request ${id} in project ${project}` });
    return found;
  }

  const orMissing = <T>(read: Promise<T>) =>
    read.catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    });
  const currentFlag = (project: string, key: string) => orMissing(flags.get(project, key));
  /** The version a request's flag, segment or group is at now (0: it does not exist). */
  const currentVersion = async (request: Pick<ChangeRequest, "project" | "flag" | "segment" | "group">) =>
    (request.segment
      ? await orMissing(segments.get(request.project, request.segment))
      : request.group
        ? await orMissing(groups.get(request.project, request.group))
        : await currentFlag(request.project, request.flag!)
    )?.version ?? 0;

  async function view(request: ChangeRequest, version?: number): Promise<ChangeRequestView> {
    if (request.status !== "open") return { ...request, conflicting: request.status === "conflicting" };
    return { ...request, conflicting: (version ?? (await currentVersion(request))) !== request.baseVersion };
  }

  const event = (request: ChangeRequest, what: string): EventInput => ({
    id: `change-request-${request.id}-${what}`,
    type: `change_request.${what}` as EventInput["type"],
    data: {
      id: request.id,
      ...(request.flag ? { flag: request.flag } : {}),
      ...(request.segment ? { segment: request.segment } : {}),
      ...(request.group ? { group: request.group } : {}),
      kind: request.kind,
      ...(request.action ? { action: request.action } : {}),
      title: request.title,
      author: request.author,
      status: request.status,
      ...(request.review ? { reviewer: request.review.by, comment: request.review.comment } : {}),
      ...(request.bypass ? { bypass: request.bypass } : {}),
      ...(request.appliedVersion ? { version: request.appliedVersion } : {}),
    },
  });

  async function save(request: ChangeRequest, rev: number | undefined, what?: string): Promise<void> {
    if (!(await writeItem(db, requestKey(request.project, request.id), request, rev)))
      throw new ApiError({
        status: 409,
        message: `Change request ${request.id} was reviewed meanwhile; read it again`,
      });
    if (what) await notify?.(request.project, event(request, what));
  }

  /** A segment's or group's request (kind `update` only): its diff from the version it is made on. */
  async function describeDependent(project: string, input: ChangeRequestInput, target: Dependent) {
    const [kind, key] = kindAndKey(target);
    if (input.kind !== "update")
      throw new ApiError({ status: 400, message: `A ${kind} request is an \`update\` (with \`input\`, the ${kind})` });
    const current = "segment" in target ? await segments.get(project, key) : await groups.get(project, key);
    if (!input.input)
      throw new ApiError({ status: 400, message: `An update request needs \`input\`, the ${kind} as it will be` });
    const next = ("segment" in target ? segmentSchema : groupSchema).parse(input.input);
    if (next.key !== key)
      throw new ApiError({ status: 400, message: `input.key '${next.key}' is not the ${kind} '${key}'` });
    const baseVersion = notAhead(input.baseVersion ?? current.version, current.version, `${kind} ${key}`);
    let base: Segment | Group;
    if ("segment" in target)
      base = definitionOf(
        baseVersion === current.version
          ? (current as StoredSegment)
          : (await segments.version(project, key, baseVersion)).segment,
      );
    else
      base = groupSchema.parse(
        baseVersion === current.version ? current : (await groups.version(project, key, baseVersion)).group,
      );
    const changes = diff(base, next);
    if (changes.length === 0) throw new ApiError({ status: 400, message: "The request changes nothing" });
    return { version: current.version, baseVersion, changes, input: next };
  }

  /** The diff a request shows, and the version it applies to, checked against the flag as it is now. */
  async function describe(project: string, input: ChangeRequestInput & { flag: string }) {
    const current = await currentFlag(project, input.flag);
    if (input.kind === "create") {
      if (current) throw new ApiError({ status: 409, message: `Flag ${input.flag} exists: request an update` });
      if (!input.input) throw new ApiError({ status: 400, message: "A create request needs `input`, the new flag" });
      if (input.input.key !== input.flag)
        throw new ApiError({ status: 400, message: `input.key '${input.input.key}' is not the flag '${input.flag}'` });
      const next = flagWriteSchema.parse(input.input);
      return { version: 0, baseVersion: 0, changes: diff({}, next), input: next };
    }
    if (!current) throw new ApiError({ status: 404, message: `No flag ${input.flag}` });
    const baseVersion = notAhead(input.baseVersion ?? current.version, current.version, input.flag);
    if (input.kind === "update") {
      if (!input.input)
        throw new ApiError({ status: 400, message: "An update request needs `input`, the flag as it will be" });
      if (input.input.key !== input.flag)
        throw new ApiError({ status: 400, message: `input.key '${input.input.key}' is not the flag '${input.flag}'` });
      const base =
        baseVersion === current.version ? current : (await flags.version(project, input.flag, baseVersion)).flag;
      const next = flagWriteSchema.parse(input.input);
      const changes = diff(flagInputSchema.parse(base), next);
      if (changes.length === 0) throw new ApiError({ status: 400, message: "The request changes nothing" });
      return { version: current.version, baseVersion, changes, input: next };
    }
    if (!input.action || !FLAG_ACTIONS.includes(input.action))
      throw new ApiError({
        status: 400,
        message: `An action request needs \`action\`: one of ${FLAG_ACTIONS.join(", ")}`,
      });
    const changes = [
      { type: "CHANGE", path: ["action"], value: input.action },
      ...(input.variant === undefined ? [] : [{ type: "CHANGE", path: ["decidedVariant"], value: input.variant }]),
    ];
    return { version: current.version, baseVersion, changes, input: undefined };
  }

  /**
   * Applies the reviewed change as `actor`, on exactly the version it was made on (a segment's
   * edit republishes the deployments of the flags naming it, as a direct one does).
   */
  async function applyChange(request: ChangeRequest, actor: string): Promise<{ version: number }> {
    const { project } = request;
    if (request.segment) return segments.update(project, request.input as Segment, request.baseVersion, actor);
    if (request.group) return groups.update(project, request.input as Group, request.baseVersion, actor);
    const flag = request.flag!;
    const input = request.input as FlagWrite;
    if (request.kind === "create") return flags.create(project, input, actor);
    if (request.kind === "update") return flags.update(project, flag, input, request.baseVersion, actor);
    const options = request.variant === undefined ? {} : { variant: request.variant };
    return flags.act(project, flag, request.action!, request.baseVersion, actor, options);
  }

  return {
    policy,
    reviewRequired,
    dependentReviewRequired,

    async setPolicy(project: string, next: Pick<ReviewPolicy, "project" | "deployments">, actor: string) {
      // A misspelt deployment would guard nothing while the admin believes it guarded: refused.
      const known = new Set(await deploymentKeys(project));
      const unknown = next.deployments.filter((d) => !known.has(d));
      if (unknown.length > 0)
        throw new ApiError({
          status: 400,
          message: `The review policy names no deployment of ${project}: ${unknown.join(", ")} (create it first)`,
          details: { unknownDeployments: unknown },
        });
      const existing = await readItem<ReviewPolicy>(db, policyKey(project));
      const record: ReviewPolicy = { ...next, updatedBy: actor, updatedAt: iso() };
      if (!(await writeItem(db, policyKey(project), record, existing?.rev)))
        throw new ApiError({ status: 409, message: `The review policy of ${project} changed meanwhile; retry` });
      return record;
    },

    async open(project: string, input: ChangeRequestInput, author: string): Promise<ChangeRequestView> {
      const { flag, segment, group } = input;
      if ([flag, segment, group].filter((k) => k !== undefined).length !== 1)
        throw new ApiError({ status: 400, message: "A change request names one `flag`, one `segment` or one `group`" });
      const target: Dependent | undefined = segment ? { segment } : group ? { group } : undefined;
      const described = target
        ? await describeDependent(project, input, target)
        : await describe(project, { ...input, flag: flag! });
      const { version, baseVersion, changes } = described;
      const request: ChangeRequest = {
        id: `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`,
        project,
        ...(target ?? { flag: flag! }),
        kind: input.kind,
        ...(input.action ? { action: input.action } : {}),
        ...(input.variant === undefined ? {} : { variant: input.variant }),
        ...(described.input ? { input: described.input } : {}),
        baseVersion,
        diff: changes as ChangeRequest["diff"],
        title: input.title?.trim() || defaultTitle(input),
        description: input.description ?? "",
        author,
        createdAt: iso(),
        status: "open",
      };
      await save(request, undefined, "opened");
      return view(request, version);
    },

    async list(project: string, filter: ChangeRequestFilter = {}): Promise<ChangeRequestView[]> {
      const all = (await readItems<ChangeRequest>(db, pk(project), "CR#")).map((r) => r.record);
      const chosen = all
        .filter((r) => (!filter.flag || r.flag === filter.flag) && (!filter.segment || r.segment === filter.segment))
        .filter((r) => !filter.group || r.group === filter.group)
        .filter((r) => !filter.author || r.author === filter.author)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      // One read of each flag, segment or group that open requests are on.
      const target = (r: ChangeRequest) =>
        r.segment ? `segment:${r.segment}` : r.group ? `group:${r.group}` : `flag:${r.flag}`;
      const versionsNow = new Map<string, number>();
      for (const r of chosen.filter((r) => r.status === "open"))
        if (!versionsNow.has(target(r))) versionsNow.set(target(r), await currentVersion(r));
      const views = await Promise.all(chosen.map((r) => view(r, versionsNow.get(target(r)))));
      // `conflicting` filters on what the answer shows: open requests whose flag moved on count too.
      return views.filter(
        (r) => !filter.status || (filter.status === "conflicting" ? r.conflicting : r.status === filter.status),
      );
    },

    async get(project: string, id: string): Promise<ChangeRequestView> {
      return view((await read(project, id)).record);
    },

    /** Approves and applies; a request against an old version ends `conflicting` and changes nothing. */
    async approve(project: string, id: string, approver: string, comment: string): Promise<ChangeRequestView> {
      const { record, rev } = await read(project, id);
      // The retry of an approval whose answer was lost: answer what it did.
      if (record.status === "applied" && record.review?.by === approver) return view(record);
      if (record.author === approver)
        throw new ApiError({
          status: 403,
          message: `${approver} wrote change request ${id}: another editor or an admin approves it`,
        });
      const resuming = record.status === "approving" && record.review?.by === approver;
      if (record.status !== "open" && !resuming)
        throw new ApiError({ status: 409, message: `Change request ${id} is ${record.status}, not open` });
      const claimed: ChangeRequest = { ...record, status: "approving", review: { by: approver, at: iso(), comment } };
      if (!resuming) await save(claimed, rev);
      const claimedRev = resuming ? rev : rev + 1;
      try {
        const made = await applyChange(claimed, reviewedActor(claimed, approver));
        const applied: ChangeRequest = { ...claimed, status: "applied", appliedVersion: made.version };
        await save(applied, claimedRev, "applied");
        return view(applied);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500) throw error; // unavailable: the reviewer retries
        if (error.status === 409 && isVersionConflict(error)) {
          const currentVersion = (error.details as { currentVersion?: number } | undefined)?.currentVersion;
          const conflicting: ChangeRequest = {
            ...claimed,
            status: "conflicting",
            ...(currentVersion === undefined ? {} : { currentVersion }),
          };
          await save(conflicting, claimedRev, "conflicting");
          throw new ApiError({
            status: 409,
            message:
              `Change request ${id} was made on version ${record.baseVersion} of ${nameOf(record)}, which has changed ` +
              "since: it is conflicting and was not applied (open a new request on the current version)",
            details: { currentVersion, request: id },
          });
        }
        // Invalid against the project as it is now (a deleted deployment, an archived flag): still open.
        await writeItem(db, requestKey(project, id), record, claimedRev);
        throw error;
      }
    },

    async reject(project: string, id: string, reviewer: string, comment: string): Promise<ChangeRequestView> {
      const { record, rev } = await read(project, id);
      if (record.status !== "open")
        throw new ApiError({ status: 409, message: `Change request ${id} is ${record.status}, not open` });
      const rejected: ChangeRequest = { ...record, status: "rejected", review: { by: reviewer, at: iso(), comment } };
      await save(rejected, rev, "rejected");
      return view(rejected);
    },

    /**
     * Records an admin's direct change past review (the flag or segment routes made it), with the
     * reason given. `made`: what the write answered (a flag or segment with its version; a
     * segment's delete answers none).
     */
    async recordBypass(
      project: string,
      target: { flag: string } | Dependent,
      made: { version?: number },
      admin: string,
      reason: string,
      what: string,
    ): Promise<void> {
      const request: ChangeRequest = {
        id: `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`,
        project,
        ...target,
        kind: what === "create" ? "create" : what === "update" ? "update" : "action",
        ...(FLAG_ACTIONS.includes(what as FlagAction) ? { action: what as FlagAction } : {}),
        baseVersion: typeof made.version === "number" ? made.version - 1 : 0,
        diff: [],
        title: `${what} ${nameOf(target)} (review bypassed)`,
        description: "",
        author: admin,
        createdAt: iso(),
        status: "bypassed",
        ...(typeof made.version === "number" ? { appliedVersion: made.version } : {}),
        bypass: { by: admin, reason },
      };
      await save(request, undefined, "bypassed");
    },
  };
}

/** A request's base version, refused (409, as a stale one is) when ahead of the version the item has reached. */
function notAhead(baseVersion: number, current: number, name: string): number {
  if (baseVersion > current)
    throw new ApiError({
      status: 409,
      message: `${name} is at version ${current}: a change cannot be made on version ${baseVersion}`,
      details: { currentVersion: current },
    });
  return baseVersion;
}

/** A lost version check, as the flag service reports it (a `currentVersion`), not a 409 of state. */
const isVersionConflict = (error: ApiError) => /changed since version|already exists/.test(error.message);

/** What a request changes, as titles and messages name it: `checkout`, `segment beta`, `group holdout`. */
const nameOf = (r: { flag?: string | undefined; segment?: string | undefined; group?: string | undefined }) =>
  r.segment ? `segment ${r.segment}` : r.group ? `group ${r.group}` : r.flag!;

const defaultTitle = (input: ChangeRequestInput) =>
  input.kind === "action" ? `${input.action} ${input.flag}` : `${input.kind} ${nameOf(input)}`;

export type ChangeRequestService = ReturnType<typeof createChangeRequestService>;
