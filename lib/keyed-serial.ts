// Per-key serialization with joining: operations on one key run one after another, and an operation that
// is identical to the one in flight (same key and same `sameAs` token) joins it instead of queueing.

export interface KeyedSerial {
  /** Run `fn` after every earlier operation on `key`; join the in-flight one when `sameAs` matches. */
  run<T>(key: string, sameAs: string | null, fn: () => Promise<T>): Promise<T>;
  /** Whether an operation on `key` is queued or running. */
  busy(key: string): boolean;
}

export function keyedSerial(): KeyedSerial {
  const tails = new Map<string, Promise<unknown>>();
  const inflight = new Map<string, { sameAs: string; promise: Promise<unknown> }>();
  return {
    run<T>(key: string, sameAs: string | null, fn: () => Promise<T>): Promise<T> {
      const current = inflight.get(key);
      if (sameAs !== null && current && current.sameAs === sameAs) return current.promise as Promise<T>;
      const prev = tails.get(key) ?? Promise.resolve();
      const p = prev.then(fn, fn);
      const tail = p.then(
        () => {},
        () => {},
      );
      tails.set(key, tail);
      tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      if (sameAs !== null) {
        const entry = { sameAs, promise: p as Promise<unknown> };
        inflight.set(key, entry);
        tail.then(() => {
          if (inflight.get(key) === entry) inflight.delete(key);
        });
      }
      return p;
    },
    busy: (key) => tails.has(key),
  };
}
