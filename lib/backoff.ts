// Exponential backoff with jitter: the wait before retry number `attempt` (0-based) is base * 2^attempt,
// capped at max, times a random factor in [0.5, 1) so that many retrying clients do not move in step.
// A server's own Retry-After (in ms), when there is one, wins.
export function backoffMs(
  attempt: number,
  o: { baseMs?: number; maxMs?: number; retryAfterMs?: number } = {},
) {
  return (
    o.retryAfterMs ?? Math.min(o.maxMs ?? 5000, (o.baseMs ?? 100) * 2 ** attempt) * (0.5 + Math.random() / 2)
  );
}
