// A failure that repeats on every call (a scrape, a poll, a snapshot) is logged once per key with its
// cause, not on every call and not never; once the same key works again that is logged too, so a later
// failure is logged again.
import type { Logger } from "../log.ts";

type Sink = Pick<Logger, "warn"> & Partial<Pick<Logger, "info">>;

export interface FailureReport {
  failed(log: Sink | undefined, key: string, error: unknown): void;
  ok(log: Sink | undefined, key: string): void;
}

/** `field`: the log field the key goes in. */
export function reportOnce(message: string, field = "key"): FailureReport {
  const failing = new Set<string>();
  return {
    failed(log, key, error) {
      if (!log || failing.has(key)) return;
      failing.add(key);
      log.warn(message, { [field]: key, error });
    },
    ok(log, key) {
      if (failing.delete(key)) log?.info?.(`${message}: works again`, { [field]: key });
    },
  };
}
