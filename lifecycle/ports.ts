// Engine ports: the first free port in the configured range (AIBrix: [20000, 21000)), tested by binding
// 127.0.0.1, skipping ports already given to another engine (which may still be booting).
import { createServer } from "node:net";

export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function pickPort(
  range: readonly [number, number],
  taken: ReadonlySet<number>,
): Promise<number> {
  for (let p = range[0]; p < range[1]; p++) {
    if (taken.has(p)) continue;
    if (await canBind(p)) return p;
  }
  throw new Error(`no free port available in agent range [${range[0]}, ${range[1]})`);
}
