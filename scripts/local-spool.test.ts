import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSpool } from "./local-spool.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("local spool", () => {
  it("sets an unreadable file aside and opens with the rest, instead of failing every start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "spool-test-"));
    dirs.push(dir);
    // Cut short by a full disk or a crash without a directory sync; before, JSON.parse threw out of
    // openSpool and every `npm start` failed with a bare SyntaxError until someone deleted the file.
    writeFileSync(join(dir, "1-cut.json"), '[{"id":"x","timestamp":1,"attempts":1,"body":{"ty');
    writeFileSync(join(dir, "2-object.json"), '{"not":"a list"}');
    const good = { id: "m1", timestamp: 1, attempts: 1, body: { type: "exposures" }, notBefore: 0 };
    writeFileSync(join(dir, "3-good.json"), JSON.stringify([good]));
    const lines: string[] = [];
    const spool = await openSpool({
      dir,
      ingestUrl: "http://127.0.0.1:9/",
      secret: "s",
      everyMs: 60_000,
      log: (line) => lines.push(line),
    });
    expect(spool.pending()).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(["1-cut.json.unreadable", "2-object.json.unreadable", "3-good.json"]);
    expect(lines.join("\n")).toMatch(/1-cut\.json.*set aside as .*1-cut\.json\.unreadable/);
    await spool.close();
    expect(readdirSync(dir)).toContain("1-cut.json.unreadable"); // not deleted with the emptied spool
  });
});
