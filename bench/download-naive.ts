// Child process for bench/download.ts: the baselines a user would write.
//   naive <url> <out>    fetch, then write each chunk to the file as it arrives (one stream)
//   naive-sha256 ...     the same, hashing each chunk with SHA-256 before writing it (what verifying costs)
//   ceiling <url> <out>  fetch, then the runtime's single-stream write of the whole body (Bun.write)
//   ceiling-sync ...     the same, then fdatasync (what a durable download must also pay)
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { writeResponseToFile } from "../tests/helpers/files.ts";

const [mode, url, out] = process.argv.slice(2);
if (!mode || !url || !out)
  throw new Error("usage: download-naive.ts naive|naive-sha256|ceiling|ceiling-sync <url> <out>");
const res = await fetch(url, { redirect: "follow" });
if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
if (mode === "ceiling" || mode === "ceiling-sync") {
  await writeResponseToFile(res, out);
  if (mode === "ceiling-sync") {
    const fh = await open(out, "r+");
    await fh.datasync();
    await fh.close();
  }
} else {
  const hash = mode === "naive-sha256" ? createHash("sha256") : null;
  const fh = await open(out, "w");
  let pos = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash?.update(chunk);
    await fh.write(chunk, 0, chunk.length, pos);
    pos += chunk.length;
  }
  await fh.close();
  if (hash) console.log(hash.digest("hex"));
}
