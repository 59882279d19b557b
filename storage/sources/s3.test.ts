// A truncated S3 listing must lead somewhere: IsTruncated=true without a next-page token (v2
// NextContinuationToken; v1 NextMarker or a last key) fails the listing instead of ending it early, which
// used to publish a partial model. A listing server on loopback answers each page as the test says.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DownloadError } from "../errors.ts";
import { parseUri } from "../uri.ts";
import { createS3Source } from "./s3.ts";

const obj = (key: string) => `<Contents><Key>${key}</Key><Size>3</Size><ETag>"e"</ETag></Contents>`;
const page = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>${body}</ListBucketResult>`;
/** Pages by query: the first page, and the one after token "t2". */
let pages: Record<string, string> = {};
let server: Server;
let endpoint = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://x").searchParams;
    const body = pages[q.get("continuation-token") ?? q.get("marker") ?? ""];
    res.writeHead(body ? 200 : 404, { "content-type": "application/xml" }).end(body ?? "");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

const list = async (listVersion: 1 | 2) => {
  const src = createS3Source({
    endpoint,
    region: "us-east-1",
    addressing: "path",
    credentials: null,
    label: "s3",
    listVersion,
  });
  const out: string[] = [];
  for await (const f of src.list(parseUri("s3://bucket/m/"), new AbortController().signal)) out.push(f.path);
  return out;
};

test("a truncated v2 page with a continuation token is followed to the end", async () => {
  pages = {
    "": page(`${obj("m/a")}<IsTruncated>true</IsTruncated><NextContinuationToken>t2</NextContinuationToken>`),
    t2: page(`${obj("m/b")}<IsTruncated>false</IsTruncated>`),
  };
  expect(await list(2)).toEqual(["a", "b"]);
});

test("a truncated v2 page without NextContinuationToken fails the listing (no partial model)", async () => {
  pages = { "": page(`${obj("m/a")}<IsTruncated>true</IsTruncated>`) };
  const e = await list(2).catch((err) => err);
  expect(e).toBeInstanceOf(DownloadError);
  expect((e as DownloadError).reason).toBe("rejected");
  expect((e as Error).message).toContain("NextContinuationToken missing");
});

test("a truncated v1 page with no marker and no key to continue from fails the listing", async () => {
  pages = { "": page("<IsTruncated>true</IsTruncated>") };
  const e = await list(1).catch((err) => err);
  expect(e).toBeInstanceOf(DownloadError);
  expect((e as Error).message).toContain("NextMarker missing");
});
