/**
 * A `fetch` that serves /api/jobs requests with the real route handlers (and the real database
 * behind them), in process, and records every exchange. Lets client code (useJob, waitForJob)
 * run against the real API without a server.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll } from 'vitest';
import type { JobRoutes } from '../../lib/http/routes.ts';
import { useTestDb } from './db.ts';
import { bearer, makeRoutes, userToken } from './http.ts';

export interface Exchange { method: string; path: string; status: number; ifNoneMatch: string | null; at: number }

export function routeFetch(routes: JobRoutes, { base = 'http://localhost' } = {}) {
  const log: Exchange[] = [];
  const fetchFn = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url, base);
    // jsdom's AbortSignal is not Node's: honour it here instead of passing it to Request.
    const { signal, ...rest } = init;
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const request = new Request(url, rest);
    const parts = url.pathname.replace(/^\/api\/jobs\/?/, '').split('/').filter(Boolean);
    const ctx = { params: Promise.resolve({ id: parts[0] ?? '' }) };
    let response: Response;
    if (parts.length === 0) response = await (request.method === 'POST' ? routes.enqueue(request) : routes.list(request));
    else if (parts[0] === 'health') response = await routes.health(request);
    else response = await (request.method === 'DELETE' ? routes.cancel(request, ctx) : routes.status(request, ctx));
    if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    log.push({ method: request.method, path: url.pathname, status: response.status, ifNoneMatch: request.headers.get('if-none-match'), at: Date.now() });
    return response;
  };
  return { fetch: fetchFn as typeof fetch, log };
}

/**
 * A test file's database, the route handlers on it behind `api.fetch`, and a signed-in user's
 * headers: the setup every client test shares.
 */
export function useRouteApi() {
  const db = useTestDb({ truncate: ['edgejobs.jobs'] });
  const ctx = { db, api: null as unknown as ReturnType<typeof routeFetch>, headers: {} as Record<string, string> };
  beforeAll(async () => {
    ctx.api = routeFetch(makeRoutes(db.store));
    ctx.headers = bearer(await userToken(randomUUID()));
  });
  return ctx;
}
