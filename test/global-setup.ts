// Quiet, offline runs: no telemetry from wrangler, no CF metadata fetch from Miniflare.
export default function setup(): void {
  process.env["WRANGLER_SEND_METRICS"] = "false";
  process.env["CLOUDFLARE_CF_FETCH_ENABLED"] = "false";
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true";
}
