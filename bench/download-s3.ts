// Child process for bench/download-cluster.ts: the fake S3 (tests/fakes/s3.ts) serving one file-backed
// object, bkt/big/<name>, with the runtime's file sending when nothing is throttled. Anonymous (signatures
// are not checked: aws-cli's differ from what the fake recomputes), so every client pays only its own signing.
//   download-s3.ts <file>   prints {"url": ..., "key": ...} once listening; runs until killed.
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { startFakeS3 } from "../tests/fakes/s3.ts";

const [path] = process.argv.slice(2);
if (!path) throw new Error("usage: download-s3.ts <file>");
const size = (await stat(path)).size;
const s3 = startFakeS3({ anonymous: true });
const key = `big/${basename(path)}`;
await s3.put("bkt", key, { path, size });
console.log(JSON.stringify({ url: s3.url, key }));
