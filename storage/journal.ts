// Per-part journal beside `<file>.part`: a header line naming what the part file holds (size, part size,
// ETag) and one line per finished part. Appended only after a part's bytes were written, so after a crash
// or kill -9 a rerun re-fetches only the parts that were in flight. Never read or written through a link.
import { constants } from "node:fs";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import { O_NOFOLLOW } from "../validate/roots.ts";

const READ = constants.O_RDONLY | O_NOFOLLOW;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | O_NOFOLLOW;
const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | O_NOFOLLOW;

interface Header {
  v: 1;
  size: number;
  partSize: number;
  etag: string | null;
}

export interface Journal {
  readonly done: ReadonlySet<number>;
  markDone(index: number): Promise<void>;
  remove(): Promise<void>;
}

/** Open the journal for a file; returns the parts already done (none if the header does not match). */
export async function openJournal(
  path: string,
  want: { size: number; partSize: number; etag?: string },
  /** Run before every write: checks no directory above `path` became a link (shared volume). */
  guard: (path: string) => Promise<unknown> = async () => {},
): Promise<Journal & { resumed: boolean }> {
  const header: Header = { v: 1, size: want.size, partSize: want.partSize, etag: want.etag ?? null };
  const done = new Set<number>();
  let resumed = false;
  try {
    const lines = (await readFile(path, { encoding: "utf8", flag: READ })).split("\n");
    const h = JSON.parse(lines[0] ?? "") as Header;
    if (h.v === 1 && h.size === header.size && h.partSize === header.partSize && h.etag === header.etag) {
      for (const l of lines.slice(1)) if (/^\d+$/.test(l)) done.add(Number(l));
      resumed = true;
    }
  } catch {
    // missing or unreadable: start fresh
  }
  if (!resumed) await guard(path);
  if (!resumed) await writeFile(path, `${JSON.stringify(header)}\n`, { flag: CREATE, mode: 0o644 });
  // Appends are serialized so lines never interleave.
  let chain: Promise<void> = Promise.resolve();
  return {
    done,
    resumed,
    markDone(index) {
      done.add(index);
      chain = chain
        .then(() => guard(path))
        .then(() => appendFile(path, `${index}\n`, { flag: APPEND, mode: 0o644 }));
      return chain;
    },
    async remove() {
      await chain.catch(() => {});
      await guard(path);
      await rm(path, { force: true });
    },
  };
}
