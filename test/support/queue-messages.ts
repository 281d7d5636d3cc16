/** Queue messages as the edge sends them to the stats service, for the stats service's tests. */
import type { EventMessage, ExposureMessage } from "../../shared/events.js";

export const BASE_TIME = 1_700_000_000_000;

/** `user` exposed to `variant` of `flagKey` by remote evaluation in project shop, deployment web. */
export const exposureMessage = (user: string, flagKey: string, variant: string, time = BASE_TIME): ExposureMessage => ({
  type: "exposures",
  project: "shop",
  deployment: "web",
  userId: user,
  time,
  source: "remote-evaluation",
  exposures: [{ flagKey, variant }],
});

type TrackedEvent = {
  user_id: string;
  event_type: string;
  time?: number;
  event_properties?: Record<string, unknown>;
  insert_id?: string;
};

/** Tracked events in project shop, deployment web; `time` defaults to `defaultTime`. */
export const eventMessage = (list: TrackedEvent[], defaultTime = BASE_TIME + 1000): EventMessage => ({
  type: "events",
  project: "shop",
  deployment: "web",
  events: list.map((e) => ({ time: defaultTime, ...e })),
});
