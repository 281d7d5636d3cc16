import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHECK_MS_PER_FLAG,
  inheritedRegexLimitIssues,
  MAX_REGEX_SOURCE_PER_FLAG,
  MAX_REGEX_VALUES_PER_FLAG,
  regexLimitIssues,
  regexSafetyIssues,
} from "./regex-safety.js";
import { flagInputSchema, type FlagInput } from "./schema.js";
import { validateFlag } from "./validate.js";

const withPatterns = (...patterns: string[][]): FlagInput =>
  flagInputSchema.parse({
    key: "f",
    name: "F",
    type: "experiment",
    variants: [{ key: "control" }, { key: "treatment" }],
    segments: patterns.map((values, i) => ({
      name: `s${i}`,
      conditions: [{ property: "email", op: "regex match", values }],
    })),
  });

const messages = (issues: { path: string[]; message: string }[]) =>
  issues.map((i) => `${i.path.join(".")}: ${i.message}`);

/**
 * The verdicts, not the time limit (tested below), on any machine: 10 s a pattern, where a
 * loaded machine made the 1 s of a save turn a verdict into "could not be checked".
 */
const decide = (patterns: string[]) => regexSafetyIssues(withPatterns(patterns), 60_000, 10_000);

/** The issue's pattern: nested counted repetition followed by text recheck needs long to decide. */
const HOSTILE = (i: number) => `((a{1,30}){1,30}){1,3x}${i}`;

describe("regex safety", () => {
  it("refuses regexes that can take exponential or cubic time, and keeps the usual ones", async () => {
    for (const hostile of ["^(a+)+$", "(a|a)*b", "^(\\w+\\s?)*$", ".*a.*b.*c"]) {
      expect(messages(await decide([hostile])).join()).toMatch(
        /segments\.0\.conditions\.0\.values\.0: regex can take (exponential time|time growing)/,
      );
    }
    for (const fine of ["^[a-z0-9._-]+@example\\.com$", "beta", "^(foo|bar)$", "\\d+\\.\\d+", "^.*@acme\\.com$"])
      expect(await decide([fine])).toEqual([]);
    // Valid JavaScript that recheck cannot parse: refused for good, not as a timeout.
    expect(messages(await decide(["\\u{1F600}"]))).toEqual([
      "segments.0.conditions.0.values.0: regex is too complex to check for super-linear time (invalid): simplify it",
    ]);
    expect(messages(validateFlag(withPatterns(["("]), { flags: new Map(), groups: new Map() })).join()).toContain(
      "segments.0.conditions.0.values.0: invalid regex",
    );
  });

  it("refuses a backreference after nested repetition, which recheck's fuzzer calls safe", async () => {
    // recheck answers `safe` (checker: fuzz) for these, yet V8 backtracks exponentially on
    // distinct characters: `(.+)+\\1` took 11 s on 24 characters, past any edge budget (which
    // charges 625 units for it).
    for (const hostile of ["(.+)+\\1", "(.*)+\\1", "(a+)+\\1", "(?<x>.+)+\\k<x>"])
      expect(messages(await decide([hostile])).join()).toMatch(
        /segments\.0\.conditions\.0\.values\.0: regex uses a backreference/,
      );
    // A backreference the automaton can decide stays allowed; so do fuzz-checked patterns without one.
    for (const fine of ["(a)\\1", "^[a-z]{2,64}$", "^(?!test).*"]) expect(await decide([fine])).toEqual([]);
  });

  it("refuses a pattern with more optional parts than the cap, which recheck calls safe", () => {
    // recheck measures time against the input's length; this one is exponential in its own size:
    // V8's first two tests of a fresh RegExp on 24 a's took 21.1 s and 23.7 s (20 a's: 4.4 s), and
    // the edge's budget charged 25 units (no `*`, `+` or `{`). Every new isolate compiles it fresh.
    const hostile = `${"(?:a|b)?".repeat(24)}${"a".repeat(24)}$`;
    expect(messages(regexLimitIssues(withPatterns([hostile])))).toEqual([
      expect.stringMatching(/^segments\.0\.conditions\.0\.values\.0: regex has 24 optional parts \(\?\)/),
    ]);
    // Lazy quantifiers, group syntax, escaped and class question marks are not optional parts.
    const phone = "^\\+?1?\\s?\\(?\\d{3}\\)?[\\s.-]?\\d{3}[\\s.-]?\\d{4}$";
    for (const fine of [phone, "^(?:https?://)?(?:www\\.)?example\\.com/?", "a.*?b+?c??[?]\\?(?=x)(?<n>y)(?!z)"])
      expect(regexLimitIssues(withPatterns([fine]))).toEqual([]);
  });

  it("caps a flag's regex values and their characters, naming the first value past the cap", () => {
    const many = Array.from({ length: 30 }, (_, i) => `^user-${i}$`);
    expect(regexLimitIssues(withPatterns(many, many.slice(0, 20)))).toEqual([]);
    expect(messages(regexLimitIssues(withPatterns(many, many)))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^segments\\.1\\.conditions\\.0\\.values\\.20: a flag may hold at most ${MAX_REGEX_VALUES_PER_FLAG}`,
        ),
      ),
    ]);
    const long = Array.from({ length: 11 }, (_, i) => `${i}`.padEnd(1000, "x"));
    expect(long.join("").length).toBeGreaterThan(MAX_REGEX_SOURCE_PER_FLAG);
    expect(messages(regexLimitIssues(withPatterns(long)))).toEqual([
      expect.stringMatching(/^segments\.0\.conditions\.0\.values\.10: .* at most 10000 characters in all/),
    ]);
  });

  it("checks off the event loop, within its time, and refuses what it could not decide", async () => {
    // Ten values of the issue's pattern took 20 s of blocked event loop with checkSync.
    const flag = withPatterns(Array.from({ length: 10 }, (_, i) => HOSTILE(i)));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const started = Date.now();
    const issues = await regexSafetyIssues(flag);
    const elapsed = Date.now() - started;
    clearInterval(ticker);
    expect(messages(issues)).toEqual([
      expect.stringMatching(
        /^segments\.0\.conditions\.0\.values\.\d: regex (can take exponential|could not be checked)/,
      ),
    ]);
    expect(elapsed).toBeLessThan(CHECK_MS_PER_FLAG + 2000); // generous: the machine is loaded
    expect(ticks).toBeGreaterThan(0); // timers ran while the check did
  });

  it("refuses a pattern not decided in the flag's time, and remembers decided ones", async () => {
    const fresh = withPatterns(["^[a-z]+-remembered-\\d+$"]);
    expect(messages(await regexSafetyIssues(fresh, 0))).toEqual([
      expect.stringMatching(/^segments\.0\.conditions\.0\.values\.0: regex could not be checked .* simplify it$/),
    ]);
    expect(await regexSafetyIssues(fresh, 60_000, 10_000)).toEqual([]);
    expect(await regexSafetyIssues(fresh, 0)).toEqual([]); // decided before: no time needed
  });
});

describe("regex limits counting a flag's segments", () => {
  const values = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `^${tag}${i}$`);
  const segmentWith = (n: number) => ({
    conditions: [
      { op: "is", values: ["not counted"] },
      { op: "regex match", values: values(n, "s") },
    ],
  });
  const flagNaming = (own: number, segment = "shared") => ({
    segments: [
      { name: "own", conditions: own ? [{ property: "email", op: "regex match", values: values(own, "f") }] : [] },
      { name: "inherited", segment, conditions: [] },
    ],
  });

  it("counts the values a named segment brings in, naming the rule that pushes the flag over", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 50 }), (own, inherited) => {
        const issues = inheritedRegexLimitIssues(
          flagNaming(own) as never,
          new Map([["shared", segmentWith(inherited)]]),
        );
        // Over on its own: regexLimitIssues names the flag's value; this check adds nothing.
        const over = own <= MAX_REGEX_VALUES_PER_FLAG && own + inherited > MAX_REGEX_VALUES_PER_FLAG;
        expect(issues).toHaveLength(over ? 1 : 0);
        if (over) {
          expect(issues[0]!.path).toEqual(["segments", "1", "segment"]);
          expect(issues[0]!.message).toMatch(`holds ${own + inherited}`);
          expect(issues[0]!.message).toMatch(`segment 'shared' brings ${inherited} in`);
        }
      }),
    );
  });

  it("counts characters too, and a rule naming an unknown segment brings nothing", () => {
    const long = { conditions: [{ op: "regex match", values: ["x".repeat(MAX_REGEX_SOURCE_PER_FLAG)] }] };
    const issues = inheritedRegexLimitIssues(flagNaming(1) as never, new Map([["shared", long]]));
    expect(messages(issues)).toEqual([expect.stringMatching(/^segments\.1\.segment: .*characters in all/)]);
    expect(inheritedRegexLimitIssues(flagNaming(1, "gone") as never, new Map([["shared", long]]))).toEqual([]);
  });
});
