/**
 * Chromium for the console's browser tests: Debian's `chromium` (scripts/ensure-chromium.mjs
 * installs it) driven by playwright-core, since npm's Playwright browsers cannot be fetched.
 */
import { execSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const SCREENSHOTS = join(process.cwd(), ".tmp", "screenshots");

export async function launchChromium(): Promise<Browser> {
  const executablePath =
    process.env["CHROMIUM_PATH"] ?? execSync("command -v chromium", { shell: "/bin/sh" }).toString().trim();
  // Chromium's sandbox cannot start as root (CI runs as root).
  return chromium.launch({ executablePath, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
}

/** Saves a screenshot (the whole page, or what the window shows) as a test artifact (.tmp/screenshots/<name>.png). */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
