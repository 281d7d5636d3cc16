/**
 * A console tab signed in, as each browser test starts: a new page (its own session
 * storage) at the console, the admin token entered, the projects list shown. Page errors
 * are passed on to the test's output.
 */
import type { Browser, Page } from "playwright-core";

export async function signedInPage(browser: Browser, consoleUrl: string, token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => console.error("console page error:", error.message));
  await page.goto(consoleUrl);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
  return page;
}
