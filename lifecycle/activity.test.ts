// A launched engine's /metrics is read with the metrics byte cap (issue 12, F8): an endless body ends the
// read at the cap (no activity observed), not at the deadline after reading all it could.
import { afterAll, expect, test } from "bun:test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { engineActivity, NO_ACTIVITY } from "./activity.ts";

let hungUp = 0;
const CHUNK = Buffer.from(`${'vllm:num_requests_running{model_name="m"} 1\n'.repeat(1500)}`);
const server = createServer((_req, res) => {
  res.on("close", () => {
    if (!res.writableFinished) hungUp++;
  });
  const more = () => {
    while (!res.destroyed) if (!res.write(CHUNK)) return void res.once("drain", more);
  };
  more();
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

test("an endless engine /metrics: the read stops at the cap, long before the deadline", async () => {
  const port = (server.address() as AddressInfo).port;
  // A 60 s deadline: only the cap can end this read within the test's time.
  expect(await engineActivity(port, "m", 60_000)).toEqual(NO_ACTIVITY);
  while (hungUp < 1) await new Promise((r) => setTimeout(r, 5));
});
