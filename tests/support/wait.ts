/** Polls `read` until it returns something truthy; throws after `timeoutMs`, naming `what` (and `context()`, e.g. a process log). */
export async function waitFor<T>(
  read: () => Promise<T | undefined | null | false>,
  what: string,
  { timeoutMs = 30_000, intervalMs = 100, context }: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
