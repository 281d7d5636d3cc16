/**
 * The user as SDKs send it (Amplitude's field names), for the edge's routes and the control
 * plane's "try a user": one set of rules for the ids, properties and groups they both read.
 * `groups` is `{type: ["name"]}` from the experiment SDKs, `{type: "name"}` from Amplitude's
 * analytics SDKs; `userToContext` (context.ts) reads either.
 */
import * as z from "zod";

const id = z.string().max(1024);
const properties = z.record(z.string(), z.unknown());
const groupName = z.string().max(1024);

export const userFields = {
  user_id: id.nullish(),
  device_id: id.nullish(),
  user_properties: properties.nullish(),
  groups: z.record(z.string(), z.union([groupName, z.array(groupName)])).nullish(),
  group_properties: z.record(z.string(), z.record(z.string(), properties)).nullish(),
};

/** What the edge accepts: SDKs send more fields than these (`country`, `platform`, …), all passed on. */
export const userSchema = z.looseObject(userFields);
export type User = z.infer<typeof userSchema>;
