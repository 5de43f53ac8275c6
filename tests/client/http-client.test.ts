import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError, cancelJob, fetchJob, listJobs, submitJob, waitForJob } from '../../lib/client/http-client.ts';
import { jobQueryOptions } from '../../lib/client/query-options.ts';
import { drain } from '../../lib/drain.ts';
import { registry } from '../support/http.ts';
import { useRouteApi } from '../support/route-fetch.ts';

const t = useRouteApi();
const db = t.db;

describe('submitJob / fetchJob / waitForJob / cancelJob', () => {
  it('submits, then waits while a real drain runs the job, and answers the finished job', async () => {
    const options = { fetch: t.api.fetch, baseUrl: 'http://localhost/api/jobs', headers: t.headers };
    const accepted = await submitJob('report.generate', { title: 'T', rows: [2, 3] }, { ...options, idempotencyKey: 'wait-1' });
    expect(accepted).toMatchObject({ type: 'report.generate', status: 'queued', replayed: false });
    const updates: string[] = [];
    const waiting = waitForJob(accepted.id, { ...options, timeoutMs: 30_000, onUpdate: (j) => updates.push(j.status) });
    await new Promise((r) => setTimeout(r, 300));
    await drain({ store: db.store, registry, deadline: Date.now() + 5_000 });
    const done = await waiting;
    expect(done).toMatchObject({ id: accepted.id, status: 'completed', result: { total: 5 } });
    expect(updates[0]).toBe('queued');
    expect(updates.at(-1)).toBe('completed');
    const first = await fetchJob(accepted.id, options);
    const again = await fetchJob(accepted.id, { ...options, etag: first.etag });
    expect(again).toEqual({ job: null, etag: first.etag, retryAfterMs: null });
    expect(t.api.log.at(-1)).toMatchObject({ status: 304, ifNoneMatch: first.etag });
  });

  it('throws ApiError with status, code and issues for a refused job, and 404 for an unknown one', async () => {
    const options = { fetch: t.api.fetch, baseUrl: 'http://localhost/api/jobs', headers: t.headers };
    const refused = await submitJob('report.generate', { title: '', rows: 'x' }, options).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 422, code: 'validation_failed' });
    expect((refused as ApiError).issues?.map((i) => i.path).sort()).toEqual(['input.rows', 'input.title']);
    const missing = await fetchJob(randomUUID(), options).catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 404, code: 'job_not_found' });
    expect(JSON.parse(JSON.stringify(missing))).toMatchObject({ code: 'job_not_found', status: 404 });
  });

  it('says network_error when the API cannot be reached, and keeps an error code it does not know', async () => {
    const unreachable = await fetchJob(randomUUID(), { baseUrl: 'http://127.0.0.1:1/api/jobs' }).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ code: 'network_error', retryable: true });
    // A newer server may answer with a code this client has never heard of: it is passed on as sent.
    const newer = async () => new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'slow down' } }), { status: 429, headers: { 'content-type': 'application/json' } });
    const error = await fetchJob(randomUUID(), { baseUrl: 'http://localhost/api/jobs', fetch: newer as typeof fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down' });
  });

  it("lists the caller's jobs page by page, filtered", async () => {
    const options = { fetch: t.api.fetch, baseUrl: 'http://localhost/api/jobs', headers: t.headers };
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await submitJob('billing.sync', { account: `list-${i}` }, options));
    const first = await listJobs({ ...options, type: 'billing.sync', limit: 2 });
    expect(first.jobs).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = await listJobs({ ...options, type: 'billing.sync', limit: 2, cursor: first.nextCursor });
    const ids = [...first.jobs, ...rest.jobs].map((j) => j.id);
    for (const job of mine) expect(ids).toContain(job.id);
    expect((await listJobs({ ...options, status: 'failed', type: 'billing.sync' })).jobs).toEqual([]);
    await expect(listJobs({ ...options, cursor: 'nonsense' })).rejects.toMatchObject({ status: 400 });
  });

  it('cancels, and gives up waiting after timeoutMs with a timeout error', async () => {
    const options = { fetch: t.api.fetch, baseUrl: 'http://localhost/api/jobs', headers: t.headers };
    const a = await submitJob('billing.sync', { account: 'x' }, options);
    expect((await cancelJob(a.id, options)).status).toBe('cancelled');
    expect((await waitForJob(a.id, options)).status).toBe('cancelled');
    const b = await submitJob('billing.sync', { account: 'y' }, options);
    const error = await waitForJob(b.id, { ...options, timeoutMs: 600 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'timeout' });
  });

  it('gives TanStack Query options that fetch the job and stop refetching once it ends', async () => {
    const options = { fetch: t.api.fetch, baseUrl: 'http://localhost/api/jobs', headers: t.headers };
    const { id } = await submitJob('billing.sync', { account: 'tq' }, options);
    const q = jobQueryOptions(id, { ...options, intervalMs: 700 });
    expect(q.queryKey).toEqual(['edgejobs', 'job', id]);
    const job = await q.queryFn({});
    expect(job).toMatchObject({ id, status: 'queued' });
    expect(q.refetchInterval({ state: { data: job } })).toBe(700);
    await cancelJob(id, options);
    expect(q.refetchInterval({ state: { data: await q.queryFn({}) } })).toBe(false);
  });
});
