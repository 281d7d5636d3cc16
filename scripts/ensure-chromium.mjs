// Runs before `npm test` (and in .ci/run): the console's browser tests drive Debian's
// Chromium through playwright-core, since npm's Playwright browsers cannot be downloaded
// here. Installs it with apt-get when missing and we are root; otherwise says how.
import { execSync } from "node:child_process";

const found = (command) => {
  try {
    execSync(`command -v ${command}`, { stdio: "ignore", shell: "/bin/sh" });
    return true;
  } catch {
    return false;
  }
};

if (!process.env.CHROMIUM_PATH && !found("chromium")) {
  if (process.getuid?.() === 0 && found("apt-get")) {
    console.log("Installing Chromium for the console's browser tests (apt-get install -y chromium)…");
    execSync(
      "export DEBIAN_FRONTEND=noninteractive; " +
        "apt-get install -y -qq chromium || (apt-get update -qq && apt-get install -y -qq chromium)",
      { stdio: "inherit", shell: "/bin/sh" },
    );
  } else {
    console.error(
      "The console's browser tests need Chromium. Install it with: sudo apt-get install -y chromium " +
        "(or set CHROMIUM_PATH to a Chromium binary).",
    );
    process.exit(1);
  }
}
