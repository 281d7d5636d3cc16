/**
 * The demo project `npm start` creates on first run, through the control-plane API as
 * an admin would: deployment `demo`, release flag `new-onboarding` on for 25% of users,
 * and experiment `checkout-redesign` (control/treatment 50/50 on user_id, primary metric
 * unique conversions of `purchase_completed`, revenue from its `amount` as a secondary
 * metric, a +5% minimum detectable effect), running; and `homepage-hero`, bucketed by
 * device for the anonymous visitors of the CDN proxy's demo site, running.
 */
export async function seedDemo(
  controlPlaneUrl: string,
  adminToken: string,
): Promise<{ key: string; clientKey: string; serverKey: string }> {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${controlPlaneUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`Seeding ${method} ${path}: HTTP ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  await call("POST", "/projects", { key: "demo", name: "Demo shop" });
  const deployment = await call("POST", "/projects/demo/deployments", { key: "demo", name: "Demo website" });

  const onboarding = await call("POST", "/projects/demo/flags", {
    key: "new-onboarding",
    name: "New onboarding",
    description: "The redesigned onboarding flow, rolled out progressively.",
    type: "release",
    variants: [{ key: "on" }],
    rollout: 25,
    deployments: ["demo"],
  });
  await call("POST", "/projects/demo/flags/new-onboarding/activate", { version: onboarding["version"] });

  const checkout = await call("POST", "/projects/demo/flags", {
    key: "checkout-redesign",
    name: "Checkout redesign",
    type: "experiment",
    variants: [
      { key: "control", description: "Current checkout" },
      { key: "treatment", description: "One-page checkout", payload: { layout: "one-page" } },
    ],
    weights: { control: 50, treatment: 50 },
    bucketing: { unit: "user_id" },
    deployments: ["demo"],
    hypothesis: {
      problem: "Many users abandon the multi-step checkout.",
      proposedChange: "A one-page checkout.",
      predictedResult: "More completed purchases.",
    },
    primaryMetric: {
      key: "purchase",
      name: "Purchase completed",
      type: "unique_conversions",
      eventType: "purchase_completed",
    },
    secondaryMetrics: [
      { key: "revenue", name: "Revenue", type: "property_sum", eventType: "purchase_completed", property: "amount" },
    ],
    statisticalMethod: "sequential",
    confidenceLevel: 0.95,
    minimumDetectableEffect: 0.05,
    // The demo's three days conclude only on running values: a week's window would close after it.
    defaultMetricWindow: "none",
  });
  await call("POST", "/projects/demo/flags/checkout-redesign/start", { version: checkout["version"] });

  // For the CDN proxy's demo site: its visitors are anonymous, so bucketed by device.
  const hero = await call("POST", "/projects/demo/flags", {
    key: "homepage-hero",
    name: "Homepage hero",
    type: "experiment",
    variants: [
      { key: "control", payload: { headline: "Welcome to the demo shop" } },
      { key: "treatment", payload: { headline: "Everything you need, delivered tomorrow" } },
    ],
    bucketing: { unit: "device_id" },
    deployments: ["demo"],
    primaryMetric: { key: "signup", name: "Signed up", type: "unique_conversions", eventType: "signup" },
    defaultMetricWindow: "none",
  });
  await call("POST", "/projects/demo/flags/homepage-hero/start", { version: hero["version"] });

  return { key: "demo", clientKey: deployment["clientKey"] as string, serverKey: deployment["serverKey"] as string };
}
