// AIBrix's DownloadExtraConfig (reference/AIBRIX-RUNTIME.md §4.3): the `download_extra_config` object of
// POST /v1/model/download and the JSON of `aibrix_download --download-extra-config`. Unknown keys are refused.
import { z } from "zod";
import type { Credentials } from "./types.ts";

export const ExtraConfig = z.strictObject({
  ak: z.string().optional(),
  sk: z.string().optional(),
  endpoint: z.string().optional(),
  region: z.string().optional(),
  hf_endpoint: z.string().optional(),
  hf_token: z.string().optional(),
  hf_revision: z.string().optional(),
  num_threads: z.number().int().min(1).max(256).optional(),
  max_io_queue: z.number().int().optional(),
  io_chunksize: z.number().int().optional(),
  part_threshold: z.number().int().optional(),
  part_chunksize: z.number().int().min(65536).optional(),
  allow_file_suffix: z.array(z.string()).optional(),
  force_download: z.boolean().optional(),
  /** airuntime: a local path is used where it is (nothing copied); the card points at it. */
  in_place: z.boolean().optional(),
  /** airuntime: download a whole bucket (`s3://bucket` with no path); refused (422) without it, as AIBrix. */
  allow_bucket_root: z.boolean().optional(),
  /** airuntime: unsigned requests to a public bucket (like the AWS CLI's --no-sign-request). */
  anonymous: z.boolean().optional(),
});
export type ExtraConfig = z.infer<typeof ExtraConfig>;

/** The credential keys of an extra config, as the sources read them. */
export function extraCredentials(extra: ExtraConfig): Credentials {
  const creds: Credentials = {};
  for (const k of ["ak", "sk", "endpoint", "region", "hf_endpoint", "hf_token", "hf_revision"] as const)
    if (extra[k]) creds[k] = extra[k]!;
  if (extra.anonymous) creds.anonymous = "true";
  return creds;
}
