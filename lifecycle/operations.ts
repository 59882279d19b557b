// Completed operation ids per action (sleep, wake, kv-limit): the last 128 are remembered, as in AIBrix,
// so a retried request answers applied:false instead of acting twice. Persisted with the registry.
import type { LifecycleAction } from "./types.ts";

export const REMEMBERED_OPERATIONS = 128;

export class OperationLog {
  private readonly byAction = new Map<string, string[]>();

  constructor(
    initial: Record<string, string[]> = {},
    private readonly limit = REMEMBERED_OPERATIONS,
  ) {
    for (const [action, ids] of Object.entries(initial)) this.byAction.set(action, ids.slice(-limit));
  }

  has(action: LifecycleAction, model: string, operationId: string): boolean {
    return this.byAction.get(action)?.includes(key(model, operationId)) ?? false;
  }

  record(action: LifecycleAction, model: string, operationId: string): void {
    const list = this.byAction.get(action) ?? [];
    const k = key(model, operationId);
    if (list.includes(k)) return;
    list.push(k);
    if (list.length > this.limit) list.splice(0, list.length - this.limit);
    this.byAction.set(action, list);
  }

  toJSON(): Record<string, string[]> {
    return Object.fromEntries(this.byAction);
  }
}

const key = (model: string, operationId: string) => `${model}\u0000${operationId}`;
