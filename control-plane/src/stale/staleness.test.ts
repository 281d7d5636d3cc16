/** The staleness rules and their reasons, as a table over a hand-set clock and daily counts. */
import { describe, expect, it } from "vitest";
import type { Flag } from "../../../shared/authoring/schema.js";
import { dayOf, NO_VARIANT, staleness, type DailyCount } from "./staleness.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-12-01T15:00:00Z");
const flag = (createdDaysAgo = 100, status: Flag["status"] = "active") =>
  ({ key: "f", status, createdAt: new Date(NOW - createdDaysAgo * DAY).toISOString() }) as Flag;
/** One count a day from `from` days ago to `to` days ago (inclusive), on two deployments. */
const days = (from: number, to: number, variants: Record<string, number>): DailyCount[] =>
  Array.from({ length: from - to + 1 }, (_, i) => dayOf(NOW - (from - i) * DAY)).flatMap((day) =>
    ["web", "ios"].map((deployment) => ({ flag: "f", deployment, day, variants })),
  );

describe("staleness", () => {
  it.each([
    ["one variant since the first evaluation", days(34, 0, { on: 3 }), "one variant to everyone for 34 days (on)"],
    [
      "one variant since the last day anything else was served",
      [...days(60, 41, { on: 1, [NO_VARIANT]: 1 }), ...days(40, 0, { on: 2 })],
      "one variant to everyone for 40 days (on)",
    ],
    ["the default to everyone", days(45, 0, { [NO_VARIANT]: 5 }), "one variant to everyone for 45 days (the default)"],
    [
      "no evaluation since",
      days(50, 31, { on: 1, off: 1 }),
      `not evaluated for 31 days (last on ${dayOf(NOW - 31 * DAY)})`,
    ],
    ["never evaluated", [], "not evaluated for 100 days"],
  ])("%s: %s", (_, counts, message) => {
    expect(staleness(flag(), counts, NOW)).toMatchObject({ stale: true, message });
  });

  it.each([
    ["split in the window", days(40, 0, { on: 1, [NO_VARIANT]: 1 }), flag()],
    ["one variant for only 29 days", [...days(60, 30, { on: 1, off: 1 }), ...days(29, 0, { on: 1 })], flag()],
    ["one variant, but only evaluated for 20 days", days(20, 0, { on: 1 }), flag()],
    ["young", [], flag(10)],
    ["archived", [], flag(100, "archived")],
  ])("not stale: %s", (_, counts, f) => {
    expect(staleness(f, counts, NOW)).toMatchObject({ stale: false });
    expect(staleness(f, counts, NOW).message).toBeUndefined();
  });

  it("says how many days in `days` as well", () => {
    expect(staleness(flag(), days(34, 0, { on: 1 }), NOW)).toMatchObject({ reason: "single_variant", days: 34 });
    expect(staleness(flag(), days(50, 31, { on: 1 }), NOW).days).toBe(31);
  });
});
