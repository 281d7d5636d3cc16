/**
 * The admin console in Chromium against the local stack (`npm start`'s parts, the demo
 * project): its bundle size, the first page's load, and how fast common interactions answer,
 * timed from the driver (playwright-core) from the input to the answer being on screen, so
 * each figure includes the DevTools-protocol round trips as well as any API call.
 */
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import { seedDemo } from "../scripts/demo-seed.js";
import { startLocalSystem } from "../scripts/local-system.js";
import { launchChromium } from "../test/support/browser.js";
import { percentile, round } from "./percentiles.js";

export interface Timing {
  interaction: string;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}
export interface ConsoleResult {
  bundle: { jsKiB: number; cssKiB: number; gzipKiB: number };
  timings: Timing[];
}

const RUNS = 30;
const WARM_UP = 4;

/** What one interaction does in the page, and what shows it answered. */
interface Step {
  /** A link or button to click (CSS selector)… */
  click?: string;
  /** …or an input to type into (CSS selector) and the text. */
  fill?: [string, string];
  /** Answered when this selector matches (and `gone`, if given, no longer does). */
  until: string;
  gone?: string;
}

/**
 * Runs a step inside the page and returns the milliseconds from the input to the first frame
 * painted after the answer appeared: the app's own time (API calls included), without the
 * driver's round trips and actionability checks.
 */
function inPage(page: Page, step: Step): Promise<number> {
  return page.evaluate(`(${IN_PAGE})(${JSON.stringify(step)})`) as Promise<number>;
}

// Plain JavaScript as text: tsx would otherwise wrap its named functions in a helper the page lacks.
const IN_PAGE = `async ({ click, fill, until, gone }) => {
  const started = performance.now();
  if (click) document.querySelector(click).click();
  if (fill) {
    const input = document.querySelector(fill[0]);
    input.value = fill[1];
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const answered = () => document.querySelector(until) !== null && (!gone || document.querySelector(gone) === null);
  await new Promise((resolve) => {
    if (answered()) return resolve();
    const observer = new MutationObserver(() => answered() && (observer.disconnect(), resolve()));
    observer.observe(document.body, { childList: true, subtree: true, attributes: true, characterData: true });
  });
  await new Promise((resolve) => requestAnimationFrame(resolve));
  return performance.now() - started;
}`;

async function time(interaction: string, steps: Step[], page: Page): Promise<Timing> {
  const samples: number[] = [];
  // An even number of runs in all: a two-step round trip ends where it started.
  for (let i = 0; i < RUNS + WARM_UP; i++) {
    const ms = await inPage(page, steps[i % steps.length]!);
    if (i >= WARM_UP) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return {
    interaction,
    runs: RUNS,
    p50Ms: round(percentile(samples, 50), 1),
    p95Ms: round(percentile(samples, 95), 1),
    maxMs: round(samples.at(-1)!, 1),
  };
}

export async function benchConsole(): Promise<ConsoleResult> {
  const system = await startLocalSystem({
    ingestSecret: "bench-console",
    flagCacheTtlMs: 250,
    queueBatchTimeoutSeconds: 0.2,
  });
  const browser = await launchChromium();
  try {
    const token = system.controlPlane.bootstrapToken!;
    await seedDemo(system.controlPlane.url, token);
    const url = `${system.controlPlane.url}/`;
    const html = await (await fetch(url)).text();
    const [js, css] = await Promise.all(
      ["app.js", "app.css"].map(async (file) =>
        Buffer.from(
          await (
            await fetch(
              `${system.controlPlane.url}${/(\/console\/app\.(?:js|css)\?v=\w+)/g.exec(html.slice(html.indexOf(file) - 40))![1]}`,
            )
          ).arrayBuffer(),
        ),
      ),
    );
    const bundle = {
      jsKiB: round(js!.length / 1024, 1),
      cssKiB: round(css!.length / 1024, 1),
      gzipKiB: round((gzipSync(js!).length + gzipSync(css!).length) / 1024, 1),
    };

    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Notes when the projects list first appears, in the page's own clock (0 = navigation start).
    await page.addInitScript(`
      const observer = new MutationObserver(() => {
        if (document.querySelector("a[href='#/projects/demo']")) {
          window.listedAt = performance.now();
          observer.disconnect();
        }
      });
      document.addEventListener("DOMContentLoaded", () => observer.observe(document.body, { childList: true, subtree: true }));
    `);
    await page.goto(url);
    await page.evaluate(`sessionStorage.setItem("experiments-console-token", ${JSON.stringify(token)})`);
    const timings: Timing[] = [];

    // The first page: navigation start to the projects listed (script, styles, /me, /projects).
    const loads: number[] = [];
    for (let i = 0; i < RUNS + WARM_UP; i++) {
      await page.goto("about:blank");
      await page.goto(url);
      await page.locator("a[href='#/projects/demo']").waitFor();
      const ms = (await page.evaluate("window.listedAt")) as number;
      if (i >= WARM_UP) loads.push(ms);
    }
    loads.sort((a, b) => a - b);
    timings.push({
      interaction: "first page: navigation to projects listed (HTML, JS, CSS, /me, /projects)",
      runs: RUNS,
      p50Ms: round(percentile(loads, 50), 1),
      p95Ms: round(percentile(loads, 95), 1),
      maxMs: round(loads.at(-1)!, 1),
    });

    await page.goto(`${url}#/projects/demo`);
    await page.locator("[data-flag=checkout-redesign]").waitFor();
    timings.push(
      await time(
        "switch tab: flags ↔ deployments (1 API call)",
        [
          { click: "a[href='#/projects/demo/deployments']", until: "[data-deployment=demo]" },
          { click: "a[href='#/projects/demo/flags']", until: "[data-flag=checkout-redesign]" },
        ],
        page,
      ),
    );
    timings.push(
      await time(
        "search flags: filtered list shown (1 API call)",
        [
          {
            fill: ["input[type=search]", "checkout"],
            until: "[data-flag=checkout-redesign]",
            gone: "[data-flag=homepage-hero]",
          },
          { fill: ["input[type=search]", ""], until: "[data-flag=homepage-hero]" },
        ],
        page,
      ),
    );
    await page.goto(`${url}#/projects/demo/flags/checkout-redesign`);
    await page.locator("a[href='#/projects/demo/flags/checkout-redesign/edit']").first().waitFor();
    timings.push(
      await time(
        "open an experiment's editor (4 API calls), and back",
        [
          { click: "a.button[href='#/projects/demo/flags/checkout-redesign/edit']", until: "form.editor fieldset" },
          { click: "a.button[href='#/projects/demo/flags/checkout-redesign']", until: ".lifecycle" },
        ],
        page,
      ),
    );
    await page.goto(`${url}#/projects/demo/flags/checkout-redesign/edit`);
    await page.locator("form.editor fieldset").first().waitFor();
    const nameInput = "form.editor fieldset input";
    timings.push(
      await time(
        "edit a field: diff count updated (no API call)",
        [
          { fill: [nameInput, "Checkout redesign!"], until: "button[data-changes='1']" },
          { fill: [nameInput, "Checkout redesign"], until: "button[data-changes='0']" },
        ],
        page,
      ),
    );
    await page.goto(`${url}#/projects/demo/flags/checkout-redesign/overview`);
    await page.locator("a[href='#/projects/demo/flags/checkout-redesign/results']").first().waitFor();
    timings.push(
      await time(
        "results tab: report fetched, tables and charts drawn (stats API)",
        [
          {
            click: "nav.tabs a[href='#/projects/demo/flags/checkout-redesign/results']",
            until: "[data-metric=purchase] table",
          },
          { click: "nav.tabs a[href='#/projects/demo/flags/checkout-redesign/overview']", until: ".overview" },
        ],
        page,
      ),
    );
    timings.push(
      await time(
        "brief tab: report fetched, the brief's sections drawn (stats API)",
        [
          {
            click: "nav.tabs a[href='#/projects/demo/flags/checkout-redesign/brief']",
            until: "[data-brief-section=Results]",
          },
          { click: "nav.tabs a[href='#/projects/demo/flags/checkout-redesign/overview']", until: ".overview" },
        ],
        page,
      ),
    );
    await page.goto(`${url}#/projects/demo/audit`);
    await page.locator("[data-audit='checkout-redesign@1']").waitFor();
    timings.push(
      await time(
        "audit log: search, filtered changes shown (1 API call)",
        [
          {
            fill: ["input[type=search]", "activate"],
            until: "[data-audit='new-onboarding@2']",
            gone: "[data-audit='checkout-redesign@1']",
          },
          { fill: ["input[type=search]", ""], until: "[data-audit='checkout-redesign@1']" },
        ],
        page,
      ),
    );
    await page.goto(`${url}#/projects/demo/guide/release`);
    await page.locator("[data-step=name] input").first().fill("Bench flag");
    timings.push(
      await time(
        "guided creation: a key checked as typed (no API call)",
        [
          { fill: ["[data-step=name] input[aria-describedby*=hint]", "bad key!"], until: ".field.invalid" },
          {
            fill: ["[data-step=name] input[aria-describedby*=hint]", "bench-flag"],
            until: "form.guide-step",
            gone: ".field.invalid",
          },
        ],
        page,
      ),
    );
    timings.push(
      await time(
        "guided creation: next step and back (no API call)",
        [
          { click: "form.guide-step button[type=submit]", until: "[data-step=deployment]" },
          { click: "form.guide-step .actions button:first-child", until: "[data-step=name]" },
        ],
        page,
      ),
    );
    return { bundle, timings };
  } finally {
    await browser.close();
    await system.close();
  }
}
