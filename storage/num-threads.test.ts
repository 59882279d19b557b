// DOWNLOADER_NUM_THREADS: unset (or empty) leaves the connection count to the tuner up to the automatic
// ceiling of 64; set, it is the cap every download uses.
import { expect, test } from "bun:test";
import { loadConfig } from "../config.ts";

test("DOWNLOADER_NUM_THREADS unset or empty: the automatic ceiling 64; set: that cap", () => {
  for (const env of [{}, { DOWNLOADER_NUM_THREADS: "" }])
    expect(loadConfig(env).downloader.tuning.connections).toBe(64);
  expect(loadConfig({ DOWNLOADER_NUM_THREADS: "32" }).downloader.tuning.connections).toBe(32);
  expect(loadConfig({}).downloader.tuning.startConnections).toBe(4);
  expect(() => loadConfig({ DOWNLOADER_NUM_THREADS: "0" })).toThrow(/DOWNLOADER_NUM_THREADS/);
});
