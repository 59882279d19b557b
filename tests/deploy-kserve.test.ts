// deploy/kserve/: the KServe ClusterStorageContainer runs a real airuntime command with KServe's two
// arguments, for URI schemes airuntime parses; its env names are variables airuntime reads.
// (The download itself is proven against s3rver in tests/aibrix-download.test.ts.)
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CONFIG_VARIABLES } from "../config.ts";
import { parseYamlDocuments } from "./helpers/yaml.ts";
import { parseUri } from "../storage/uri.ts";

const doc = parseYamlDocuments(
  readFileSync("deploy/kserve/cluster-storage-container.yaml", "utf8"),
)[0] as any;

test("the ClusterStorageContainer runs `airuntime download` for schemes airuntime parses", () => {
  expect(doc.kind).toBe("ClusterStorageContainer");
  expect(doc.apiVersion).toBe("serving.kserve.io/v1alpha1");
  expect(doc.spec.workloadType).toBe("initContainer");
  expect(doc.spec.container.command).toEqual(["/usr/local/bin/airuntime", "download"]);
  for (const { prefix } of doc.spec.supportedUriFormats as Array<{ prefix: string }>) {
    const uri = /^(hf|huggingface):\/\/$/.test(prefix) ? `${prefix}org/name` : `${prefix}bucket/model/`;
    expect(parseUri(uri).raw).toBe(uri);
  }
  for (const e of doc.spec.container.env as Array<{ name: string }>)
    expect((CONFIG_VARIABLES as readonly string[]).includes(e.name) ? e.name : `unknown ${e.name}`).toBe(
      e.name,
    );
});
