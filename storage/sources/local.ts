// Absolute local paths and file:// URIs: a directory tree or one file, read from this machine. The path is
// checked against AIRUNTIME_ALLOWED_SOURCES once symlinks are resolved (a link inside an allowed prefix that
// points outside is refused); symlinks inside the tree are not followed.
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import { localPathAllowed } from "../../security/sources.ts";
import { DownloadError } from "../errors.ts";
import type { ParsedUri, RemoteFile, Source } from "../types.ts";

async function* walk(root: string, dir: string): AsyncGenerator<RemoteFile> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === ".cache" || e.name === ".git") continue;
      yield* walk(root, full);
    } else if (e.isFile()) {
      const s = await stat(full);
      yield { path: relative(root, full), size: s.size, etag: `${s.size}-${Math.floor(s.mtimeMs)}` };
    }
  }
}

export function createLocalSource(opts: { allowed?: readonly string[] } = {}): Source {
  const pathOf = (uri: ParsedUri, file: RemoteFile) => file.key ?? join(uri.path, file.path);
  return {
    async *list(uri: ParsedUri): AsyncIterable<RemoteFile> {
      if (!(await localPathAllowed(uri.path, opts.allowed)))
        throw new DownloadError(
          "forbidden",
          `source '${uri.raw}' resolves outside the local prefixes of AIRUNTIME_ALLOWED_SOURCES (${opts.allowed?.join(", ")})`,
        );
      let s: Awaited<ReturnType<typeof stat>>;
      try {
        s = await stat(uri.path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EACCES") throw new DownloadError("auth", `permission denied reading ${uri.path}`);
        throw new DownloadError("not_found", `local path ${uri.path} does not exist`);
      }
      if (s.isDirectory()) {
        yield* walk(uri.path, uri.path);
        return;
      }
      yield {
        path: uri.path.split("/").pop()!,
        key: uri.path,
        size: s.size,
        etag: `${s.size}-${Math.floor(s.mtimeMs)}`,
      };
    },
    async open(uri, file, range) {
      const stream = createReadStream(
        pathOf(uri, file),
        range ? { start: range.start, end: range.end - 1 } : {},
      );
      return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
    },
  };
}
