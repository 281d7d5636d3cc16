/**
 * The stats service in a process of its own, for tests that kill it mid-delivery: started
 * with the JSON options in STATS_SERVICE_OPTIONS, it prints `{"url": …}` as one line once
 * listening, then serves until killed.
 */
import { startStatsService, type StatsServerOptions } from "./server.js";

const options = JSON.parse(process.env["STATS_SERVICE_OPTIONS"] ?? "{}") as StatsServerOptions;
const service = await startStatsService(options);
process.stdout.write(`${JSON.stringify({ url: service.url })}\n`);
