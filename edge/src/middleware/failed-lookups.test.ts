import { describe, expect, it } from "vitest";
import { ApiError } from "../../../shared/http/errors.js";
import { FailedLookups } from "./failed-lookups.js";

const retryAfter = (failures: FailedLookups, client: string): string | undefined => {
  try {
    failures.check(client);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    return (error as ApiError).headers?.["Retry-After"];
  }
};

describe("FailedLookups", () => {
  it("refuses a client past its budget for the rest of its 10 s window, and no one else", () => {
    let now = 1_000_000;
    const failures = new FailedLookups({ limit: 2, now: () => now });
    failures.record("a");
    expect(retryAfter(failures, "a")).toBeUndefined();
    failures.record("a");
    now += 2_500;
    expect(retryAfter(failures, "a")).toBe("8"); // 7.5 s left, rounded up
    expect(retryAfter(failures, "b")).toBeUndefined();
    now += 7_500; // a new window
    expect(retryAfter(failures, "a")).toBeUndefined();
  });

  it("remembers at most maxClients clients, dropping the oldest", () => {
    const failures = new FailedLookups({ limit: 1, maxClients: 2 });
    for (const client of ["a", "b", "c"]) failures.record(client);
    expect(retryAfter(failures, "a")).toBeUndefined();
    expect(retryAfter(failures, "c")).toBe("10");
  });
});
