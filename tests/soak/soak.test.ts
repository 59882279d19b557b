// Short soak, outside the default suite: `AIRUNTIME_SOAK=1 bun test tests/soak` (.ci/run runs it after
// `npm test`). AIRUNTIME_SOAK_SECONDS overrides the length; the long run is `bun tests/soak/run.ts`.
import { expect, test } from "bun:test";
import { runSoak } from "./run.ts";

const seconds = Number(process.env.AIRUNTIME_SOAK_SECONDS ?? 8);
const enabled = process.env.AIRUNTIME_SOAK === "1";
if (!enabled)
  process.stderr.write("[soak] skipped: the soak runs only with AIRUNTIME_SOAK=1 (.ci/run sets it)\n");

test.skipIf(!enabled)(
  `soak ${seconds}s: flapping engine, 200 scrapes/s, LoRA churn, a download`,
  async () => {
    const f = await runSoak({ seconds, scrapesPerSecond: 200, downloadBytes: 8 * 1024 * 1024 });
    console.log(`soak figures: ${JSON.stringify(f)}`);
    expect(f.unanswered).toBe(0);
    expect(f.scrapeNon200).toBe(0);
    expect(f.scrapes).toBeGreaterThanOrEqual(seconds * 200 * 0.9);
    expect(f.faultsInjected).toBeGreaterThanOrEqual(2);
    expect(f.sidecarAlive).toBe(true);
    expect(f.unhandled).toBe(false);
    expect(f.adaptersEndLoaded).toBe(true);
    expect(f.downloadExact).toBe(true);
    // Leak check: RSS may fall after warm-up (download buffers returned), it must not grow by more than 10 %.
    expect(f.rssDriftPct).toBeLessThanOrEqual(10);
  },
  (seconds + 90) * 1000,
);
