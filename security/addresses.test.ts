import { expect, test } from "bun:test";
import { urlGuard } from "../storage/sources/guard.ts";
import { isLinkLocal, isLoopback, linkLocalTarget } from "./addresses.ts";

test("loopback hosts, as a listen address and as a URL's hostname", () => {
  for (const h of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"])
    expect(isLoopback(h)).toBe(true);
  expect(isLoopback(new URL("http://[::1]:9/").hostname)).toBe(true);
  for (const h of [
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "128.0.0.1",
    "127.0.0.1.example.com",
    "localhost.example.com",
  ])
    expect(isLoopback(h)).toBe(false);
});

test("link-local and metadata addresses, in every spelling", () => {
  for (const a of [
    "169.254.169.254",
    "169.254.0.1",
    "fe80::1",
    "[fe80::1]",
    "febf:ffff::1",
    "fd00:ec2::254",
    "fd00:0ec2:0000:0000:0000:0000:0000:0254",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
  ])
    expect(isLinkLocal(a)).toBe(true);
  for (const a of ["127.0.0.1", "10.0.0.1", "169.255.0.1", "::1", "fec0::1", "fd00:ec2::253", "example.com"])
    expect(isLinkLocal(a)).toBe(false);
});

test("URL spellings the parser normalizes to 169.254.169.254 are caught", async () => {
  for (const u of ["http://2852039166/", "http://0xa9fea9fe/", "http://0251.0376.0251.0376/"])
    expect(await linkLocalTarget(new URL(u))).toBe("169.254.169.254");
});

test("a host name resolving to a metadata address is refused unless an entry names it", async () => {
  const resolve = async (host: string) =>
    host === "metadata.internal" ? ["10.0.0.5", "169.254.169.254"] : ["10.0.0.7"];
  const url = new URL("http://metadata.internal/computeMetadata/v1/");
  const open = urlGuard({ allowed: undefined, resolve });
  await expect(open(url, "t")).rejects.toThrow(/link-local \/ metadata address \(169\.254\.169\.254\)/);
  await open(new URL("http://other.internal/x"), "t"); // resolves elsewhere: fine
  // An entry naming the host exactly is the explicit permission; a wildcard or a bare scheme is not.
  await urlGuard({ allowed: ["http://metadata.internal"], resolve })(url, "t");
  await urlGuard({ allowed: ["http://169.254.169.254"], resolve })(new URL("http://169.254.169.254/x"), "t");
  await expect(urlGuard({ allowed: ["http"], resolve })(url, "t")).rejects.toThrow(/link-local/);
  await expect(urlGuard({ allowed: ["http://*.internal"], resolve })(url, "t")).rejects.toThrow(/link-local/);
});

test("only http and https are fetched; the allow-list applies to every URL the guard sees", async () => {
  const g = urlGuard({ allowed: ["https://cdn.example.com"], resolve: async () => ["203.0.113.1"] });
  await g(new URL("https://cdn.example.com/a"), "t");
  await expect(g(new URL("https://evil.example.com/a"), "t")).rejects.toThrow(/AIRUNTIME_ALLOWED_SOURCES/);
  await expect(g(new URL("file:///etc/passwd"), "t")).rejects.toThrow(/only http and https/);
});
