/**
 * Bucketing: `murmur3_x86_32(salt + "/" + value)`; the allocation is `hash % 100`
 * against `[start, end)`, the distribution `floor(hash / 100)` against `[start, end)`,
 * first match wins. A missing or empty bucketing value, or a hash that no range
 * takes, falls back to the segment's default variant.
 */
import { coerceString } from "./coerce.js";
import { murmur3 } from "./murmur3.js";
import type { EvaluationBucket } from "./schema.js";
import { compileSelector, type Target } from "./select.js";

/** Returns the variant key a target buckets into, or `undefined` when none. */
export type Bucketer = (target: Target) => string | undefined;

interface Allocation {
  readonly start: number;
  readonly end: number;
  readonly distributions: ReadonlyArray<{ start: number; end: number; variant: string }>;
}

export function compileBucket(bucket: EvaluationBucket | undefined, defaultVariant: string | undefined): Bucketer {
  // No bucket means the segment is fully rolled out to its default variant.
  if (!bucket) return () => defaultVariant;
  const select = compileSelector(bucket.selector);
  const prefix = `${bucket.salt}/`;
  const allocations: Allocation[] = bucket.allocations.map((allocation) => ({
    start: allocation.range[0],
    end: allocation.range[1],
    distributions: allocation.distributions.map((d) => ({ start: d.range[0], end: d.range[1], variant: d.variant })),
  }));
  return (target) => {
    const raw = select(target);
    const value = typeof raw === "string" ? raw : coerceString(raw);
    if (!value) return defaultVariant;
    const hash = murmur3(prefix + value);
    const allocationValue = hash % 100;
    const distributionValue = Math.floor(hash / 100);
    for (const allocation of allocations) {
      if (allocationValue < allocation.start || allocationValue >= allocation.end) continue;
      for (const distribution of allocation.distributions) {
        if (distributionValue >= distribution.start && distributionValue < distribution.end) return distribution.variant;
      }
    }
    return defaultVariant;
  };
}
