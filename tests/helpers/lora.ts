// Helpers for the LoRA integration tests: HTTP calls with status + body, and real adapter directories.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Reply {
  status: number;
  text: string;
  json: any;
  contentType: string | null;
}

/** A sidecar to call: its base URL (a spawned binary) or an app answering in process (`app.request`). */
export type Target = string | { request(path: string, init: RequestInit): Response | Promise<Response> };

export async function call(
  base: Target,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  };
  const r = typeof base === "string" ? await fetch(base + path, init) : await base.request(path, init);
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json, contentType: r.headers.get("content-type") };
}

/** The files of a small, complete PEFT LoRA adapter (config + weights). */
export function adapterFiles(name: string): Record<string, Uint8Array<ArrayBuffer>> {
  const config = {
    base_model_name_or_path: "mock-base",
    peft_type: "LORA",
    r: 8,
    lora_alpha: 16,
    target_modules: ["q_proj", "v_proj"],
    name,
  };
  const weights = new Uint8Array(new ArrayBuffer(64 * 1024));
  for (let i = 0; i < weights.length; i++) weights[i] = (i * 31 + name.length) & 0xff;
  return {
    "adapter_config.json": new Uint8Array(new TextEncoder().encode(JSON.stringify(config))),
    "adapter_model.safetensors": weights,
  };
}

export async function writeAdapterDir(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(adapterFiles(name))) await writeFile(join(dir, f), bytes);
  return dir;
}

/** The mock engine's debug view (/_mock/stats): adapters it holds (name -> path), LoRA calls per adapter. */
export async function mockStats(url: string) {
  const r = await fetch(`${url}/_mock/stats`);
  const j = (await r.json()) as {
    loaded: Record<string, string>;
    counters: Record<string, { load: number; unload: number }>;
    sleep_level: number;
  };
  return { adapters: j.loaded, calls: j.counters, sleepLevel: j.sleep_level };
}
