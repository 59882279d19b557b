// The container image recipe and the binary it ships: base images pinned by digest, OCI labels, the
// AIBrix names, the non-root user the manifests' fsGroup relies on, and the documented arm64 build
// (cross-compiled here and checked to be an aarch64 glibc executable).
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./helpers/sidecar.ts";

const containerfile = readFileSync("Containerfile", "utf8");
const tmp = mkdtempSync(join(tmpdir(), "airuntime-arm64-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** e_machine and PT_INTERP of an ELF executable. */
function elf(path: string): { machine: number; interp: string } {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  const machine = b.readUInt16LE(18);
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (b.readUInt32LE(ph) !== 3) continue; // PT_INTERP
    const off = Number(b.readBigUInt64LE(ph + 8));
    const size = Number(b.readBigUInt64LE(ph + 32));
    return { machine, interp: b.subarray(off, off + size - 1).toString("latin1") };
  }
  return { machine, interp: "" };
}

test("every base image is pinned by digest", () => {
  const froms = [...containerfile.matchAll(/^FROM (?:--platform=\S+ )?(\S+)/gm)].map((m) => m[1]!);
  expect(froms.length).toBe(2);
  for (const f of froms) expect(f).toMatch(/^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
});

test("OCI labels, the non-root user, and the three names of one binary", () => {
  for (const l of ["title", "description", "version", "revision"])
    expect(containerfile).toContain(`org.opencontainers.image.${l}=`);
  expect(containerfile).toMatch(/^USER 65532:65532$/m);
  expect(containerfile).toContain("ln -s airuntime /out/bin/aibrix_runtime");
  expect(containerfile).toContain("ln -s airuntime /out/bin/aibrix_download");
  expect(containerfile).toContain('ENTRYPOINT ["/usr/local/bin/airuntime"]');
});

test("single binary (glibc), never called static", () => {
  for (const f of ["README.md", "Containerfile", "scripts/build.ts", "docs/kubernetes.md"]) {
    const text = readFileSync(f, "utf8");
    expect(text).not.toMatch(/static binary|one static/i);
  }
  expect(readFileSync("README.md", "utf8")).toContain("single binary (glibc)");
  expect(containerfile).toContain("single binary (glibc)");
  const host = elf(BIN);
  expect(host.interp).toMatch(/^\/lib(64)?\/ld-linux/); // dynamically linked against glibc's loader
});

test("the documented arm64 build cross-compiles an aarch64 glibc executable", () => {
  const out = join(tmp, "airuntime");
  const r = spawnSync(process.execPath, ["run", "scripts/build.ts", out, "--target=bun-linux-arm64"], {
    encoding: "utf8",
  });
  expect(r.status).toBe(0);
  const { machine, interp } = elf(out);
  expect(machine).toBe(0xb7); // EM_AARCH64
  expect(interp).toBe("/lib/ld-linux-aarch64.so.1");
}, 120_000);
