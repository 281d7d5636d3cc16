/**
 * Bucketing: `murmur3_x86_32(salt + "/" + value)`; the allocation is `hash % 100`
 * against `[start, end)`, the distribution `floor(hash / 100)` against `[start, end)`,
 * first match wins. A missing or empty bucketing value, or a hash that no range
 * takes, falls back to the segment's default variant.
 */
import { coerceString } from "./coerce.js";
import { murmur3Concat, prefixedMurmur3 } from "./murmur3.js";
import type { EvaluationBucket } from "./schema.js";
import { compileSelector, selectValue, type Target } from "./select.js";

/**
 * Returns what a target buckets into: the variant key mapped through `resolve` (once per
 * variant, on the first target that lands on it), or `undefined` when nothing applies.
 */
export type Bucketer<T> = (target: Target) => T | undefined;

/** A variant key and, once first needed, what `resolve` made of it. */
class Slot<T> {
  private done = false;
  private value: T | undefined;
  constructor(
    private readonly key: string | undefined,
    private readonly resolve: (variantKey: string) => T | undefined,
  ) {}
  get(): T | undefined {
    if (!this.done) {
      this.value = this.key === undefined ? undefined : this.resolve(this.key);
      this.done = true;
    }
    return this.value;
  }
}

/** The bucketing value of a target: the selected value as a string, or undefined when missing or empty. */
function bucketingValue(raw: unknown): string | undefined {
  const value = typeof raw === "string" ? raw : coerceString(raw);
  return value || undefined;
}

/** The variant key a target buckets into, without compiling: for a bucket evaluated once (see compile.ts). */
export function bucketVariantKey(
  bucket: EvaluationBucket | undefined,
  defaultVariantKey: string | undefined,
  target: Target,
): string | undefined {
  if (!bucket) return defaultVariantKey;
  const value = bucketingValue(selectValue(target, bucket.selector));
  if (value === undefined) return defaultVariantKey;
  const hashed = murmur3Concat(`${bucket.salt}/`, value);
  const allocationValue = hashed % 100;
  const distributionValue = Math.floor(hashed / 100);
  for (const { range, distributions } of bucket.allocations) {
    if (allocationValue < range[0] || allocationValue >= range[1]) continue;
    for (const distribution of distributions) {
      const [start, end] = distribution.range;
      if (distributionValue >= start && distributionValue < end) return distribution.variant;
    }
  }
  return defaultVariantKey;
}

export function compileBucket<T>(
  bucket: EvaluationBucket | undefined,
  defaultVariantKey: string | undefined,
  resolve: (variantKey: string) => T | undefined,
): Bucketer<T> {
  const defaultVariant = new Slot(defaultVariantKey, resolve);
  // No bucket means the segment is fully rolled out to its default variant.
  if (!bucket) return () => defaultVariant.get();
  const select = compileSelector(bucket.selector);
  const hash = prefixedMurmur3(`${bucket.salt}/`);
  // The rule of bucketVariantKey, on ranges flattened into plain numbers for the request path.
  const allocations = bucket.allocations.map((allocation) => ({
    start: allocation.range[0],
    end: allocation.range[1],
    distributions: allocation.distributions.map((d) => ({
      start: d.range[0],
      end: d.range[1],
      variant: new Slot(d.variant, resolve),
    })),
  }));
  return (target) => {
    const value = bucketingValue(select(target));
    if (value === undefined) return defaultVariant.get();
    const hashed = hash(value);
    const allocationValue = hashed % 100;
    const distributionValue = Math.floor(hashed / 100);
    for (let a = 0; a < allocations.length; a++) {
      const allocation = allocations[a]!;
      if (allocationValue < allocation.start || allocationValue >= allocation.end) continue;
      const distributions = allocation.distributions;
      for (let d = 0; d < distributions.length; d++) {
        const distribution = distributions[d]!;
        if (distributionValue >= distribution.start && distributionValue < distribution.end)
          return distribution.variant.get();
      }
    }
    return defaultVariant.get();
  };
}
