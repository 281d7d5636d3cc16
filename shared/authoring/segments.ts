/**
 * Reusable segments: named sets of conditions over user and group properties, kept at project
 * level (`/projects/{p}/segments`) and named by flags' targeting rules (`segment: "<key>"`).
 * A flag stores only the reference; publishing resolves it (`resolveSegments`, called by
 * to-evaluation-model.ts) into the rule's conditions, so the deployment document, the edge and
 * the official SDKs see plain inline rules and bucket exactly as before.
 */
import * as z from "zod";
import { conditionSchema, keySchema, type Flag } from "./schema.js";

export const segmentSchema = z.object({
  key: keySchema,
  name: z.string().min(1).max(200),
  description: z.string().max(4000).default(""),
  /** All must hold; the same condition schema as flags' targeting rules. */
  conditions: z.array(conditionSchema).min(1).max(50),
});
export type Segment = z.infer<typeof segmentSchema>;

/**
 * The flag with each rule's segment replaced by its conditions, placed before the rule's own
 * (all must hold either way; the order only changes which condition fails first). A rule naming
 * a segment that no longer exists (a delete racing the flag's save) matches no one, as a rule
 * that is absent: it is left out, and the users go on to the next rule.
 */
export function resolveSegments(flag: Flag, segments: ReadonlyMap<string, Pick<Segment, "conditions">>): Flag {
  if (!flag.segments.some((rule) => rule.segment !== undefined)) return flag;
  const rules = flag.segments.flatMap(({ segment: key, ...rule }) => {
    if (key === undefined) return [rule];
    const segment = segments.get(key);
    return segment ? [{ ...rule, conditions: [...segment.conditions, ...rule.conditions] }] : [];
  });
  return { ...flag, segments: rules };
}

/** The keys of the segments a flag's rules name. */
export const segmentsUsedBy = (flag: Pick<Flag, "segments">): string[] => [
  ...new Set(flag.segments.flatMap((rule) => (rule.segment === undefined ? [] : [rule.segment]))),
];
