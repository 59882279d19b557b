// Child process for bench/download.ts: the fake HF hub serving one file-backed LFS file (sendfile path).
// Prints {"url": ..., "cdn": ...} on stdout once listening; runs until killed.
import { stat } from "node:fs/promises";
import { startFakeHfHub } from "../tests/fakes/hf-hub.ts";

const path = process.argv[2];
if (!path) throw new Error("usage: download-server.ts <file>");
const size = (await stat(path)).size;
const hub = await startFakeHfHub();
await hub.addRepo("bench/big", [{ path: "model.safetensors", body: { path, size }, lfs: true }]);
const cdn = `${hub.url}/bench/big/resolve/main/model.safetensors`;
console.log(JSON.stringify({ url: hub.url, cdn }));
