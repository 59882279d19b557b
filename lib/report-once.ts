// A failure that repeats on every call (a scrape, a poll, a snapshot) is logged once per key with its
// cause, not on every call and not never; once the same key works again that is logged too, so a later
// failure is logged again.
import type { Logger } from "../log.ts";

export interface FailureReport {
  failed(log: Logger | undefined, key: string, error: unknown): void;
  ok(log: Logger | undefined, key: string): void;
}

export function reportOnce(message: string): FailureReport {
  const failing = new Set<string>();
  return {
    failed(log, key, error) {
      if (!log || failing.has(key)) return;
      failing.add(key);
      log.warn(message, { key, error });
    },
    ok(log, key) {
      if (failing.delete(key)) log?.info(`${message}: works again`, { key });
    },
  };
}
