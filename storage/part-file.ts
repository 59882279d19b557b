// Partial files opened on demand: a download of thousands of files must not hold one descriptor per file
// for its whole length (EMFILE under `ulimit -n 1024`). A PartFile opens its descriptor when a write, read
// or sync needs it and a shared pool closes the least recently used idle ones beyond `maxOpen`. Every open
// is O_NOFOLLOW and must find the same inode the file was created as, so a link or another file swapped in
// at the path on a shared volume is refused, never written.
import { constants, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { O_NOFOLLOW } from "../validate/roots.ts";
import { DownloadError } from "./errors.ts";

export interface PartFile {
  readonly path: string;
  writev(chunks: Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  datasync(): Promise<void>;
  stat(): Promise<Stats>;
  /** Release the descriptor (the file stays; a later call reopens it unless `close` was final). */
  close(): Promise<void>;
}

export interface PartFilePool {
  /** Create (or reuse, when `resume`) the file at `path`, sized to `size`; the descriptor is not kept. */
  create(path: string, size: number, resume: boolean): Promise<PartFile>;
  /** Descriptors open now (for tests and logs). */
  readonly open: number;
}

export function createPartFilePool(maxOpen = 64): PartFilePool {
  const lru = new Set<Entry>(); // entries with an open descriptor, least recently used first
  interface Entry {
    path: string;
    id: { dev: number; ino: number };
    fh: FileHandle | null;
    opening: Promise<FileHandle> | null;
    users: number;
  }

  const trim = async () => {
    for (const e of lru) {
      if (lru.size <= maxOpen) break;
      await release(e);
    }
  };

  const reopen = async (e: Entry): Promise<FileHandle> => {
    const fh = await open(e.path, constants.O_RDWR | O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      throw err.code === "ELOOP" || err.code === "ENOENT" || err.code === "ENOTDIR"
        ? new DownloadError("forbidden", `${e.path} was moved or replaced by a link during the download`)
        : err;
    });
    const st = await fh.stat();
    if (Number(st.dev) !== e.id.dev || Number(st.ino) !== e.id.ino) {
      await fh.close().catch(() => {});
      throw new DownloadError("forbidden", `${e.path} was replaced by another file during the download`);
    }
    return fh;
  };

  const use = async <T>(e: Entry, fn: (fh: FileHandle) => Promise<T>): Promise<T> => {
    e.users++;
    try {
      if (!e.fh) {
        e.opening ??= reopen(e).finally(() => {
          e.opening = null;
        });
        e.fh = await e.opening;
      }
      lru.delete(e);
      lru.add(e);
      return await fn(e.fh);
    } finally {
      e.users--;
      if (lru.size > maxOpen) void trim();
    }
  };

  const release = async (e: Entry) => {
    if (e.users > 0 || !e.fh) return;
    const fh = e.fh;
    e.fh = null;
    lru.delete(e);
    await fh.close().catch(() => {});
  };

  return {
    get open() {
      return lru.size;
    },
    async create(path, size, resume) {
      const flags = constants.O_RDWR | constants.O_CREAT | O_NOFOLLOW | (resume ? 0 : constants.O_TRUNC);
      const fh = await open(path, flags, 0o644).catch((err: NodeJS.ErrnoException) => {
        throw err.code === "ELOOP"
          ? new DownloadError(
              "forbidden",
              `${path} is a symbolic link; links on the volume are never followed`,
            )
          : err;
      });
      let id: { dev: number; ino: number };
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw new DownloadError("forbidden", `${path} is not a regular file`);
        if (st.size !== size) await fh.truncate(size);
        id = { dev: Number(st.dev), ino: Number(st.ino) };
      } finally {
        await fh.close();
      }
      const e: Entry = { path, id, fh: null, opening: null, users: 0 };
      return {
        path,
        writev: (chunks, pos) => use(e, (h) => h.writev(chunks, pos)),
        write: (buf, off, len, pos) => use(e, (h) => h.write(buf, off, len, pos)),
        read: (buf, off, len, pos) => use(e, (h) => h.read(buf, off, len, pos)),
        datasync: () => use(e, (h) => h.datasync()),
        stat: () => use(e, (h) => h.stat()),
        close: () => release(e),
      };
    },
  };
}
