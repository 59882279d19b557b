// The OpenAI model list (`GET /v1/models`: {data: [{id, root?, parent?}]}) as engines answer it, read
// defensively: entries that are not objects with a string id are skipped. vLLM lists LoRA adapters in
// the same list with `parent` set to their base model.

export interface ModelCard {
  id: string;
  root?: string;
  /** Set for a LoRA adapter (its base model), absent or null for a base model. */
  parent?: string | null;
}

export function modelCards(list: unknown): ModelCard[] {
  const data = (list as { data?: unknown } | null | undefined)?.data;
  if (!Array.isArray(data)) return [];
  return data.filter(
    (m): m is ModelCard => m !== null && typeof m === "object" && typeof (m as ModelCard).id === "string",
  );
}

/** Ids of the base models (entries without `parent`). */
export const baseModelIds = (list: unknown): string[] =>
  modelCards(list)
    .filter((m) => !m.parent)
    .map((m) => m.id);

/** Ids of the LoRA adapters (entries with `parent`). */
export const adapterIds = (list: unknown): string[] =>
  modelCards(list)
    .filter((m) => m.parent)
    .map((m) => m.id);
