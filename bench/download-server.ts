// Child process for bench/download.ts: the fake HF hub serving one file-backed LFS file.
//   download-server.ts <file> [cdnBase]
// Without cdnBase the hub also serves the bytes (its own /cdn, sendfile path); with it (the nginx URL) the
// hub answers the API (revision, tree with the LFS SHA-256) and redirects the download to <cdnBase>/<sha256>.
// Prints {"url": ..., "cdn": ...} on stdout once listening; runs until killed.
import { stat } from "node:fs/promises";
import { startFakeHfHub } from "../tests/fakes/hf-hub.ts";

const [path, cdnBase] = process.argv.slice(2);
if (!path) throw new Error("usage: download-server.ts <file> [cdnBase]");
const size = (await stat(path)).size;
const hub = await startFakeHfHub({ cdnBase });
await hub.addRepo("bench/big", [{ path: "model.safetensors", body: { path, size }, lfs: true }]);
const cdn = `${hub.url}/bench/big/resolve/main/model.safetensors`;
console.log(JSON.stringify({ url: hub.url, cdn }));
