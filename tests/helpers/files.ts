// File I/O that differs between Bun and Deno, for the fakes and benchmarks only (so not in platform/):
// a byte range of a file as a response body (Bun sends it with sendfile), and a whole response written
// to a file in one call (the single-stream ceiling the download benchmark compares against).
import { open } from "node:fs/promises";
import { runtimeName } from "../../platform/serve.ts";

declare const Bun: any;

/** A response body holding bytes [start, end) of the file at `path`. */
export function fileSlice(path: string, start: number, end: number): BodyInit {
  if (runtimeName === "bun") return Bun.file(path).slice(start, end);
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  let pos = start;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      fh ??= await open(path, "r");
      if (pos >= end) {
        await fh.close();
        ctrl.close();
        return;
      }
      const buf = new Uint8Array(Math.min(1 << 20, end - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      pos += bytesRead;
      ctrl.enqueue(buf.subarray(0, bytesRead));
    },
    async cancel() {
      await fh?.close();
    },
  });
}

/** Write the whole response body to `path` with the runtime's fastest single-stream path. */
export async function writeResponseToFile(res: Response, path: string): Promise<number> {
  if (runtimeName === "bun") return Bun.write(path, res);
  const fh = await open(path, "w");
  let n = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      await fh.write(chunk, 0, chunk.length, n);
      n += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return n;
}
