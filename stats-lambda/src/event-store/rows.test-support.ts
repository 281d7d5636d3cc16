/**
 * Rows as the store's writer takes them (rows.ts), for tests: a test names what it is about
 * (id, variant, unit, event type, time, and anything else it cares for); every other column
 * is empty, or the usual value of a remote evaluation on the "prod" deployment.
 */
import type { EventRow, ExposureRow } from "./rows.js";

export const exposureRow = (
  row: Pick<ExposureRow, "id" | "variant" | "unit_id" | "time"> & Partial<ExposureRow>,
): ExposureRow => ({
  deployment: "prod",
  experiment_key: "exp",
  analysis_period: 1,
  user_id: row.unit_id,
  device_id: null,
  groups: null,
  allocation: null,
  source: "remote-evaluation",
  untrusted: false,
  country: null,
  platform: null,
  os: null,
  app_version: null,
  user_properties: null,
  ...row,
});

export const eventRow = (
  row: Pick<EventRow, "id" | "event_type" | "user_id" | "time"> & Partial<EventRow>,
): EventRow => ({
  deployment: "prod",
  device_id: null,
  groups: null,
  event_properties: null,
  ...row,
});
