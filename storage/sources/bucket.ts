// What bucket sources (S3-compatible, GCS) share: how a bucket path is listed and how a listed file maps
// back to its object key.
import { DownloadError } from "../errors.ts";
import type { ParsedUri, RemoteFile } from "../types.ts";

/**
 * The prefix `<path>/` when objects are under it (a directory); otherwise the exact key as a single
 * object. The bucket root, or a path ending in '/', must be a directory with at least one object.
 */
export async function* listDirOrObject(
  uri: ParsedUri,
  listPrefix: (bucket: string, prefix: string) => AsyncIterable<RemoteFile>,
  object: (bucket: string, key: string) => Promise<RemoteFile>,
): AsyncIterable<RemoteFile> {
  const bucket = uri.bucket!;
  const key = uri.path.replace(/\/+$/, "");
  let found = 0;
  for await (const f of listPrefix(bucket, key === "" ? "" : `${key}/`)) {
    found++;
    yield f;
  }
  if (found > 0) return;
  if (key === "" || uri.path.endsWith("/"))
    throw new DownloadError("not_found", `no objects under ${uri.raw}`);
  yield await object(bucket, key);
}

/** The object key of a listed file: directory listings are relative to the prefix. */
export function objectKey(uri: ParsedUri, file: RemoteFile): string {
  if (file.key) return file.key;
  const prefix = uri.path.replace(/\/+$/, "");
  return prefix === "" ? file.path : `${prefix}/${file.path}`;
}
