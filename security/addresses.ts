// Addresses a download may not reach by default: link-local ranges, where cloud metadata services live
// (169.254.0.0/16 with 169.254.169.254, fe80::/10, AWS's fd00:ec2::254). A URL whose host is such an address,
// or a name resolving to one, is refused unless an AIRUNTIME_ALLOWED_SOURCES entry names that host exactly.
// The check runs on the request's URL, on request-supplied endpoints and on every redirect hop.
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";

/** True for 169.254.0.0/16, fe80::/10, fd00:ec2::254 (and their IPv4-mapped IPv6 forms). */
export function isLinkLocal(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, "").toLowerCase();
  const kind = isIP(a);
  if (kind === 4) return a.startsWith("169.254.");
  if (kind !== 6) return false;
  const words = expand6(a);
  if (!words) return false;
  if ((words[0]! & 0xffc0) === 0xfe80) return true;
  if (words.join(":") === [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254].join(":")) return true;
  // ::ffff:a.b.c.d (IPv4-mapped): the IPv4 rule applies.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff)
    return words[6]! >> 8 === 169 && (words[6]! & 0xff) === 254;
  return false;
}

/** The eight 16-bit words of an IPv6 address (an embedded dotted IPv4 tail included), or null. */
function expand6(a: string): number[] | null {
  let s = a.replace(/%.*$/, "");
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = v4[1]!.split(".").map(Number);
    s = `${s.slice(0, -v4[1]!.length)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = s.includes("::") ? 8 - h.length - t.length : 0;
  const words = [...h, ...Array(fill).fill("0"), ...t].map((w) => Number.parseInt(w, 16));
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)
    ? words
    : null;
}

/** True for a loopback host: localhost, 127.0.0.0/8, ::1, ::ffff:127.0.0.1 (bracketed or not). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}

export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((r) => r.address);

/**
 * The link-local address `url` reaches, or null: its host when that is an IP literal, else every address the
 * name resolves to. A name that does not resolve reaches nothing (the connection will fail on its own).
 */
export async function linkLocalTarget(url: URL, resolve: Resolver = systemResolver): Promise<string | null> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host)) return isLinkLocal(host) ? host : null;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return null;
  }
  return addresses.find(isLinkLocal) ?? null;
}
