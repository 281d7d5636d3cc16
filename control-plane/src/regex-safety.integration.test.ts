/**
 * Saving a flag whose regexes the checker needs long to decide (issue 20, item 1): the check
 * runs off the event loop within a bounded time, so the control plane keeps answering, and
 * the save is refused naming the condition. And "try a user" bounds its regex work (item 2).
 * The per-flag totals count the conditions the flag's segments bring in, on either side's save.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../../test/support/stack.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  expect((await stack.api("POST", "/projects", { key: "re", name: "Regexes" })).status).toBe(201);
  expect((await stack.api("POST", "/projects/re/deployments", { key: "web", name: "Website" })).status).toBe(201);
});
afterAll(() => stack?.dispose());

/** Ten values of the issue's pattern (426 bytes of body): 20 s of blocked event loop with the synchronous check. */
const hostileValues = (tag: string) => Array.from({ length: 10 }, (_, i) => `((a{1,30}){1,30}){1,3x}${tag}${i}`);

const flagWith = (key: string, values: string[], op = "regex match") => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on" }],
  deployments: ["web"],
  segments: [{ name: "by email", conditions: [{ property: "email", op, values }] }],
});

/**
 * Runs `save` while asking `/health` again and again until the save answers: what the save
 * answered, how many health checks answered meanwhile, and the slowest of them.
 */
async function healthWhile(save: () => Promise<{ status: number; body: any }>) {
  let done = false;
  const saving = save().finally(() => (done = true));
  let answered = 0;
  let slowestMs = 0;
  while (!done) {
    const started = performance.now();
    const health = await fetch(`${stack.controlPlane.url}/health`);
    expect(health.status).toBe(200);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    if (!done) answered++;
  }
  return { response: await saving, answered, slowestMs };
}

const expectRefused = (response: { status: number; body: any }) => {
  expect(response.status).toBe(400);
  expect(response.body.error.message).toMatch(
    /^Invalid flag at segments\.0\.conditions\.0\.values\.\d: regex (can take exponential time|could not be checked)/,
  );
};

// Generous: the synchronous check held /health for 2 s per value.
const HEALTH_BOUND_MS = 1000;

describe("regex checks when saving a flag", () => {
  it("refuses a create (POST) and a replace (PUT) while /health keeps answering", async () => {
    const created = await healthWhile(() =>
      stack.api("POST", "/projects/re/flags", flagWith("f1", hostileValues("c"))),
    );
    expectRefused(created.response);
    expect(created.answered).toBeGreaterThan(0);
    expect(created.slowestMs).toBeLessThan(HEALTH_BOUND_MS);

    expect((await stack.api("POST", "/projects/re/flags", flagWith("f1", ["^[a-z]+@acme\\.com$"]))).status).toBe(201);
    const replaced = await healthWhile(() =>
      stack.api("PUT", "/projects/re/flags/f1", { ...flagWith("f1", hostileValues("u")), version: 1 }),
    );
    expectRefused(replaced.response);
    expect(replaced.answered).toBeGreaterThan(0);
    expect(replaced.slowestMs).toBeLessThan(HEALTH_BOUND_MS);
    expect((await stack.api("GET", "/projects/re/flags/f1")).body.version).toBe(1);
  });

  it("refuses a PATCH the same way", async () => {
    expect((await stack.api("POST", "/projects/re/flags", flagWith("f2", ["^beta$"]))).status).toBe(201);
    const patched = await healthWhile(() =>
      stack.api("PATCH", "/projects/re/flags/f2", {
        segments: flagWith("f2", hostileValues("p")).segments,
        version: 1,
      }),
    );
    expectRefused(patched.response);
    expect(patched.answered).toBeGreaterThan(0);
    expect(patched.slowestMs).toBeLessThan(HEALTH_BOUND_MS);
  });

  it("refuses restoring a version saved before the check", async () => {
    expect((await stack.api("POST", "/projects/re/flags", flagWith("f3", ["^beta$"]))).status).toBe(201);
    expect(
      (await stack.api("PUT", "/projects/re/flags/f3", { ...flagWith("f3", ["^gamma$"]), version: 1 })).status,
    ).toBe(200);
    // Version 1 as an older control plane (no such check) could have stored it.
    const { store } = stack.controlPlane;
    const v1 = (await store.getHistory("re", "f3", 1))!;
    await store.putHistory("re", { ...v1, flag: { ...v1.flag, ...flagWith("f3", hostileValues("r")) } as never });
    const restored = await healthWhile(() =>
      stack.api("POST", "/projects/re/flags/f3/versions/1/restore", { version: 2 }),
    );
    expectRefused(restored.response);
    expect(restored.answered).toBeGreaterThan(0);
    expect(restored.slowestMs).toBeLessThan(HEALTH_BOUND_MS);
    expect((await stack.api("GET", "/projects/re/flags/f3")).body.version).toBe(2);
  });

  it("refuses more regex values than a flag may hold, before checking any", async () => {
    const values = Array.from({ length: 51 }, (_, i) => `^user-${i}$`);
    const response = await stack.api("POST", "/projects/re/flags", flagWith("f4", values));
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/values\.50: a flag may hold at most 50 regex values/);
  });
});

describe("try a user", () => {
  const FLAGS = 10;
  it("stops matching regexes once the evaluation's budget is spent", async () => {
    // 10 flags × 50 quadratic patterns (accepted when saved, checked once: the verdicts are
    // remembered) on a 1,000-character property: about 0.65 s of CPU unbounded. None matches, so
    // without a budget `does not match` decides every flag.
    const values = Array.from({ length: 50 }, (_, i) => `\\d+\\.\\d+x${i}`);
    for (let f = 0; f < FLAGS; f++) {
      const created = await stack.api("POST", "/projects/re/flags", {
        ...flagWith(`q${f}`, values, "regex does not match"),
        segments: [{ name: "no match", conditions: [{ property: "p", op: "regex does not match", values }] }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await stack.api("POST", `/projects/re/flags/q${f}/activate`, { version: 1 })).status).toBe(200);
    }
    const tryUser = (p: string) =>
      stack.api("POST", "/projects/re/deployments/web/evaluate", { user_id: "u", user_properties: { p } });
    const spent = await tryUser("1".repeat(1000));
    expect(spent.status).toBe(200);
    // Which flags the regex segment decided (the others fall through to "All Other Users").
    const served = (body: Record<string, { segment: string | null }>) =>
      Array.from({ length: FLAGS }, (_, f) => body[`q${f}`]?.segment).filter((segment) => segment === "no match");
    expect(served(spent.body)).toEqual([]);
    // A short value: the same patterns decide as usual.
    expect(served((await tryUser("12.5")).body)).toHaveLength(FLAGS);
  });
});

describe("regex limits counting segments", () => {
  const patterns = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `^${tag}-${i}$`);
  const segment = (n: number) => ({
    key: "emails",
    name: "Emails",
    conditions: [{ property: "email", op: "regex match", values: patterns(n, "seg") }],
  });
  const naming = (key: string, own: number) => ({
    ...flagWith(key, patterns(own, key)),
    segments: [
      { name: "own", conditions: [{ property: "email", op: "regex match", values: patterns(own, key) }] },
      { name: "shared", segment: "emails", conditions: [] },
    ],
  });

  it("refuses a flag, and a segment edit, whose regexes with the segment's pass the flag's limit", async () => {
    expect((await stack.api("POST", "/projects/re/segments", segment(30))).status).toBe(201);
    const tooMany = await stack.api("POST", "/projects/re/flags", naming("over", 25));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toMatch(
      /at segments\.1\.segment: a flag may hold at most 50 regex values \(with its segments' it holds 55\)/,
    );
    expect((await stack.api("POST", "/projects/re/flags", naming("within", 15))).status).toBe(201);

    const edit = await stack.api("PUT", "/projects/re/segments/emails", { ...segment(40), version: 1 });
    expect(edit.status).toBe(409);
    expect(edit.body.error.message).toMatch(/Segment emails would push flag within over its regex limits/);
    expect(edit.body.error.details.flags).toEqual([{ flag: "within", message: expect.stringMatching(/holds 55/) }]);
    expect((await stack.api("GET", "/projects/re/segments/emails")).body.version).toBe(1);
    expect((await stack.api("PUT", "/projects/re/segments/emails", { ...segment(35), version: 1 })).status).toBe(200);
  });
});
