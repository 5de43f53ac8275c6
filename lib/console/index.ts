/**
 * The operator console: one route handler (GET pages, POST actions) that a Next.js app mounts at a
 * catch-all path (`npx edgejobs init` writes app/admin/jobs/[[...path]]/route.ts). Server-rendered
 * HTML with no script at all; views in views.ts.
 *
 * Access: the service key, entered once on the sign-in page and exchanged for a signed, HttpOnly,
 * SameSite=Strict session cookie (the key itself never reaches the browser again), or a request
 * the app's authenticator takes for the service role or for a signed-in, non-anonymous user whose
 * JWT carries `app_metadata.<operatorClaim>: true` (a Supabase Auth session cookie, or a bearer
 * token). Anyone else gets 401 (with the sign-in page) or 403.
 *
 * Actions are confirmed first (a GET shows what will happen; only the confirmation's POST acts),
 * carry a CSRF token and a same-origin check, make one SQL call each (bulk actions: one per
 * batch), and are recorded in edgejobs.operator_actions with who made them.
 */
import { hmacKey as importHmacKey, isOperator, parseCookies, type Authenticator } from '../http/auth.ts';
import { bulkAction } from '../bulk.ts';
import { coerceError } from '../errors.ts';
import { assessHealth, type HealthThresholds } from '../health.ts';
import type { Logger } from '../logger.ts';
import { constantTimeEqual } from '../secrets.ts';
import type { JobStatus } from '../states.ts';
import type { BulkFilter, ConsoleJobsFilter, QueueStats, Store } from '../store.ts';
import { html, type Html } from './html.ts';
import {
  auditView, bulkView, confirmBox, jobsView, jobView, overviewView, runsView, schedulesView, signInPage, type BulkForm, type Frame, type QueueRow,
} from './views.ts';

export interface ConsoleOptions {
  /** The service-role store (called on first use). */
  store: () => Pick<Store, keyof Store>;
  /** Who is calling (the app's authenticator). */
  auth: () => Authenticator;
  /** The keys the sign-in page accepts (the Supabase secret / service role key). */
  serviceKeys: () => string[];
  /** Where the console is mounted. Default '/admin/jobs'. */
  basePath?: string;
  /** The JWT app_metadata claim that makes a user an operator. Default 'edgejobs_operator'; false: service key only. */
  operatorClaim?: string | false;
  /** Signs the session cookie. Default: derived from the first service key (rotating the key signs everyone out). */
  sessionSecret?: string;
  /** How long a sign-in lasts. Default 8 hours. */
  sessionMs?: number;
  /** Live views reload this often. Default 10 s. */
  refreshSeconds?: number;
  health?: HealthThresholds;
  logger?: Logger;
}

export interface ConsoleRoutes {
  GET: (request: Request) => Promise<Response>;
  POST: (request: Request) => Promise<Response>;
}

const COOKIE = 'edgejobs_console';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES: JobStatus[] = ['queued', 'processing', 'completed', 'failed', 'cancelled'];
const JOB_ACTIONS = ['cancel', 'redrive', 'delete'] as const;
const QUEUE_ACTIONS = ['pause_queue', 'resume_queue', 'set_queue_concurrency'] as const;
const SCHEDULE_ACTIONS = ['pause_schedule', 'resume_schedule', 'trigger_schedule'] as const;
/** How long one bulk POST runs batches before it answers (the rest: press again). */
const BULK_BUDGET_MS = 5_000;

interface Operator {
  /** Recorded as the actor: 'service' or the user's id. */
  actor: string;
  /** Shown in the header. */
  label: string;
  /** Binds the CSRF token to this sign-in. */
  binding: string;
}
type Access = { ok: true; operator: Operator } | { ok: false; status: 401 | 403; problem: string | null };

const encoder = new TextEncoder();
const b64url = (bytes: ArrayBuffer | Uint8Array) => {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

export function createConsole(options: ConsoleOptions): ConsoleRoutes {
  const base = (options.basePath ?? '/admin/jobs').replace(/\/$/, '');
  const sessionMs = options.sessionMs ?? 8 * 3600_000;
  const operatorClaim = options.operatorClaim ?? 'edgejobs_operator';
  let keyPromise: Promise<CryptoKey> | undefined;
  const hmacKey = async (): Promise<CryptoKey | null> => {
    const secret = options.sessionSecret ?? options.serviceKeys()[0];
    if (!secret) return null; // not cached: the key may be configured later
    return (keyPromise ??= derive(secret));
  };
  const derive = async (secret: string) => {
    // A key of its own for the cookies, derived from the secret (not the secret itself).
    const material = await importHmacKey(secret, 'sign');
    const derived = await crypto.subtle.sign('HMAC', material, encoder.encode('edgejobs console session v1'));
    return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  };
  const sign = async (text: string) => {
    const key = await hmacKey();
    if (!key) throw new Error('no service key is configured: the console cannot sign sessions');
    return b64url(await crypto.subtle.sign('HMAC', key, encoder.encode(text)));
  };
  const csrfFor = (operator: Operator) => sign(`csrf:${operator.binding}`);
  const signInText = { hours: Math.round(sessionMs / 360_000) / 10, claim: operatorClaim };

  const cookieOf = (request: Request) => parseCookies(request.headers.get('cookie')).get(COOKIE) ?? null;

  const sessionCookie = (request: Request, value: string, maxAgeSeconds: number) => {
    const secure = new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https' ? '; Secure' : '';
    return `${COOKIE}=${value}; Path=${base}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
  };

  async function access(request: Request): Promise<Access> {
    const cookie = cookieOf(request);
    if (cookie) {
      const [payload, signature] = cookie.split('.');
      if (payload && signature && (await hmacKey()) && constantTimeEqual(await sign(payload), signature)) {
        const expires = Number(payload);
        if (expires > Date.now()) return { ok: true, operator: { actor: 'service', label: 'service key', binding: `session:${payload}` } };
      }
    }
    let caller;
    try {
      caller = await options.auth().authenticate(request);
    } catch (error) {
      return { ok: false, status: 401, problem: `Your sign-in did not verify: ${coerceError(error).message}` };
    }
    if (caller.kind === 'service') return { ok: true, operator: { actor: 'service', label: 'service key', binding: 'service-token' } };
    if (caller.kind === 'none') return { ok: false, status: 401, problem: cookie ? 'Your console session has ended; sign in again.' : null };
    if (!isOperator(caller, operatorClaim)) {
      return { ok: false, status: 403, problem: `You are signed in as ${String(caller.claims.email ?? caller.userId)}, who is not an operator of this app.` };
    }
    const email = typeof caller.claims.email === 'string' ? caller.claims.email : null;
    // The CSRF token is bound to the Supabase session (session_id: the same across token refreshes).
    const session = typeof caller.claims.session_id === 'string' ? caller.claims.session_id : '';
    return { ok: true, operator: { actor: caller.userId, label: email ?? caller.userId, binding: `user:${caller.userId}:${session}` } };
  }

  const htmlResponse = (status: number, body: Html, headers: Record<string, string> = {}) =>
    new Response(body.value, {
      status,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        'referrer-policy': 'same-origin',
        ...headers,
      },
    });
  const redirect = (to: string, headers: Record<string, string> = {}) =>
    new Response(null, { status: 303, headers: { location: to, 'cache-control': 'no-store', ...headers } });
  /** A return path inside the console (never elsewhere). */
  const safeBack = (back: string | null) => {
    // Resolved as the browser will (dot segments, backslashes), then kept only inside the console.
    if (!back || !back.startsWith('/') || /[\\\s]/.test(back)) return base;
    let url: URL;
    try {
      url = new URL(back, 'http://console.invalid');
    } catch {
      return base;
    }
    if (url.origin !== 'http://console.invalid' || url.pathname.includes('//')) return base;
    return url.pathname === base || url.pathname.startsWith(`${base}/`) ? `${url.pathname}${url.search}` : base;
  };
  const withMessage = (back: string, key: 'done' | 'error', message: string) => {
    const url = new URL(back, 'http://x');
    url.searchParams.delete('confirm');
    for (const k of ['target', 'value', 'done', 'error']) url.searchParams.delete(k);
    url.searchParams.set(key, message);
    return `${url.pathname}${url.search}`;
  };

  function describe(action: string, target: string, value: string | null): string | null {
    switch (action) {
      case 'cancel': return `cancel job ${target} (a running job is asked to stop).`;
      case 'redrive': return `retry job ${target} with fresh attempts.`;
      case 'delete': return `delete job ${target} for good.`;
      case 'pause_queue': return `pause queue ${target}: workers claim none of its jobs until it is resumed.`;
      case 'resume_queue': return `resume queue ${target}.`;
      case 'set_queue_concurrency': return value ? `let at most ${value} jobs of queue ${target} run at once.` : `remove the concurrency limit of queue ${target}.`;
      case 'pause_schedule': return `pause schedule ${target}: it fires no runs until resumed.`;
      case 'resume_schedule': return `resume schedule ${target}.`;
      case 'trigger_schedule': return `run schedule ${target} now (its overlap policy applies).`;
      default: return null;
    }
  }

  async function confirmation(url: URL, frame: Frame, back: string): Promise<Html | null> {
    const action = url.searchParams.get('confirm');
    if (!action) return null;
    const target = url.searchParams.get('target') ?? '';
    const value = url.searchParams.get('value')?.trim() || null;
    const what = describe(action, target, value);
    if (!what || !target) return html`<div class="banner bad" role="alert">Unknown action.</div>`;
    if (action === 'set_queue_concurrency' && value !== null && !/^[1-9]\d{0,8}$/.test(value)) {
      return html`<div class="banner bad" role="alert">A concurrency limit is a whole number from 1 (leave it empty for no limit).</div>`;
    }
    return confirmBox(frame, back, action, { target, ...(value ? { value } : {}) }, what, action === 'delete' || action === 'cancel');
  }

  const parseDate = (v: string | null) => {
    if (!v) return undefined;
    const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    return Number.isNaN(d.getTime()) ? undefined : d;
  };

  async function view(request: Request, url: URL, operator: Operator): Promise<Response> {
    const store = options.store();
    const path = url.pathname.slice(base.length).replace(/\/$/, '');
    const frame: Frame = { base, who: operator.label, csrf: await csrfFor(operator), done: url.searchParams.get('done'), error: url.searchParams.get('error') };
    const self = `${url.pathname}`;
    const back = `${url.pathname}${url.search}`.replace(/([?&])(confirm|target|value|done|error)=[^&]*/g, '$1').replace(/[?&]+$/, '').replace(/\?&+/, '?');

    if (path === '') {
      const [stats, queues, throughput, health, running] = await Promise.all([
        store.getQueueStats(3600_000), store.listQueues(), store.getThroughput(3600_000, 60), assessHealth(store, options.health), store.countRunningWorkers(),
      ]);
      const rows = new Map<string, QueueRow>();
      const row = (name: string) => rows.get(name) ?? rows.set(name, { name, stats: [], settings: null }).get(name)!;
      for (const s of stats as QueueStats[]) row(s.queue).stats.push(s);
      for (const q of queues) row(q.name).settings = q;
      const confirm = await confirmation(url, frame, back);
      // Live (reloading) only when asked: a reload would wipe a limit being typed.
      const live = url.searchParams.get('live') === '1' && !confirm;
      return htmlResponse(200, overviewView({ ...frame, done: live ? null : frame.done, refreshSeconds: live ? options.refreshSeconds ?? 10 : undefined }, {
        health, queues: [...rows.values()].sort((a, b) => a.name.localeCompare(b.name)), throughput, types: health.stats, running, confirm,
      }));
    }
    if (path === '/jobs') {
      const p = url.searchParams;
      const status = p.get('status');
      const q = p.get('q')?.trim() || undefined;
      const filter: ConsoleJobsFilter & { q?: string } = {
        status: STATUSES.includes(status as JobStatus) ? status as JobStatus : undefined,
        type: p.get('type')?.trim() || undefined, queue: p.get('queue')?.trim() || undefined,
        ownerId: p.get('owner')?.trim() || undefined, createdAfter: parseDate(p.get('after')), createdBefore: parseDate(p.get('before')), q,
      };
      if (filter.ownerId && !UUID.test(filter.ownerId)) return htmlResponse(400, jobsView({ ...frame, error: 'The owner is a user id (a uuid).' }, filter, { jobs: [], scanned: 0, next: null }, self));
      const cursor = p.get('cursor')?.match(/^(.+)_([0-9a-f-]{36})$/i);
      const { q: _search, ...listed } = filter;
      // A search: a whole id, the start of one (as the list shows it), else an idempotency key.
      const byPrefix = q && !UUID.test(q) && /^[0-9a-f-]{6,35}$/i.test(q) && (q.match(/[0-9a-f]/gi)?.length ?? 0) >= 6
        ? await store.consoleJobs({ idPrefix: q }, { limit: 50 }) : null;
      const page = byPrefix && byPrefix.jobs.length ? byPrefix : await store.consoleJobs(
        { ...listed, ...(q ? (UUID.test(q) ? { id: q } : { idempotencyKey: q }) : {}) },
        { limit: 50, ...(cursor && !Number.isNaN(Date.parse(cursor[1]!)) ? { before: { createdAt: new Date(cursor[1]!), id: cursor[2]! } } : {}) },
      );
      return htmlResponse(200, jobsView(frame, filter, page, self));
    }
    const jobMatch = path.match(/^\/jobs\/([^/]+)$/);
    if (jobMatch) {
      let id = jobMatch[1]!;
      try {
        id = decodeURIComponent(id);
      } catch {
        // a malformed escape: no such job
      }
      const job = UUID.test(id) ? await store.consoleJob(id) : null;
      if (!job) return htmlResponse(404, html`${viewsNotFound(frame, `No job ${id}: it may have been purged or deleted.`)}`);
      const forThisJob = !url.searchParams.get('confirm') || url.searchParams.get('target') === job.id;
      return htmlResponse(200, jobView(frame, job, forThisJob ? await confirmation(url, frame, back) : null));
    }
    if (path === '/schedules') {
      const confirm = await confirmation(url, frame, back);
      return htmlResponse(200, schedulesView(frame, await store.listSchedules(), confirm));
    }
    if (path === '/runs') {
      const before = url.searchParams.get('before');
      return htmlResponse(200, runsView(frame, await store.listWorkerRuns({ limit: 50, ...(before && UUID.test(before) ? { beforeId: before } : {}) }), self));
    }
    if (path === '/audit') {
      const before = Number(url.searchParams.get('before'));
      return htmlResponse(200, auditView(frame, await store.listOperatorActions({ limit: 50, ...(before > 0 ? { beforeId: before } : {}) }), self));
    }
    if (path === '/bulk') {
      const p = url.searchParams;
      const action = p.get('action');
      const form: BulkForm = {
        action: (JOB_ACTIONS as readonly string[]).includes(action ?? '') ? action as BulkForm['action'] : undefined,
        status: p.get('status') || undefined, type: p.get('type') || undefined, queue: p.get('queue') || undefined,
        owner: p.get('owner') || undefined, after: p.get('after') || undefined, before: p.get('before') || undefined,
      };
      return htmlResponse(200, bulkView(frame, form, null));
    }
    return htmlResponse(404, viewsNotFound(frame, 'No such page.'));
  }

  function bulkFilter(form: BulkForm): BulkFilter {
    const filter: BulkFilter = {};
    if (form.status) filter.status = form.status as JobStatus;
    if (form.type) filter.type = form.type;
    if (form.queue) filter.queue = form.queue;
    if (form.owner) filter.ownerId = form.owner;
    const after = parseDate(form.after ?? null);
    const before = parseDate(form.before ?? null);
    if (form.after && !after) throw new Error(`"${form.after}" is not a date and time`);
    if (form.before && !before) throw new Error(`"${form.before}" is not a date and time`);
    if (after) filter.createdAfter = after;
    if (before) filter.createdBefore = before;
    if (Object.keys(filter).length === 0) throw new Error('Give at least one filter field (to act on every job, pick its status).');
    return filter;
  }

  async function act(request: Request, operator: Operator, form: FormData): Promise<Response> {
    const action = String(form.get('action') ?? '');
    const back = safeBack(String(form.get('back') ?? '') || null);
    const target = String(form.get('target') ?? '');
    const value = String(form.get('value') ?? '').trim();
    const store = options.store();
    try {
      if ((JOB_ACTIONS as readonly string[]).includes(action)) {
        if (!UUID.test(target)) throw new Error('not a job id');
        const done = await store.bulkJobs(action as (typeof JOB_ACTIONS)[number], { ids: [target] }, { dryRun: false, maxRows: 1, actor: operator.actor });
        if (done.affected === 0) throw new Error(`job ${target} cannot be ${action === 'redrive' ? 'retried' : `${action}${action.endsWith('e') ? 'd' : 'led'}`} in its state now`);
        const where = action === 'delete' ? `${base}/jobs` : back;
        const said = action === 'cancel'
          ? ((await store.consoleJob(target))?.status === 'cancelled' ? `Job ${target} cancelled.` : `Job ${target} asked to stop: it ends cancelled at its next heartbeat.`)
          : action === 'redrive' ? `Job ${target} queued again.` : `Job ${target} deleted.`;
        return redirect(withMessage(where, 'done', said));
      }
      if ((QUEUE_ACTIONS as readonly string[]).includes(action) || (SCHEDULE_ACTIONS as readonly string[]).includes(action)) {
        if (action === 'set_queue_concurrency' && value && !/^[1-9]\d{0,8}$/.test(value)) throw new Error('a concurrency limit is a whole number from 1');
        const result = await store.operatorAction(action as (typeof QUEUE_ACTIONS)[number], target, value ? Number(value) : null, operator.actor);
        const said = action === 'trigger_schedule'
          ? (result.job_id ? `Schedule ${target} started job ${String(result.job_id)}.` : `Schedule ${target} did not start a run: its overlap policy held it back.`)
          : `Done: ${describe(action, target, value || null)}`;
        return redirect(withMessage(back, 'done', said));
      }
      if (action === 'bulk_count') {
        // A count reads every job the filter matches: a POST from the page's own form, never a link.
        const kind = String(form.get('bulk_action') ?? '');
        const fields = { action: (JOB_ACTIONS as readonly string[]).includes(kind) ? kind as BulkForm['action'] : undefined,
          ...Object.fromEntries(['status', 'type', 'queue', 'owner', 'after', 'before'].map((k) => [k, String(form.get(k) ?? '') || undefined])) } as BulkForm;
        const frame: Frame = { base, who: operator.label, csrf: await csrfFor(operator) };
        if (!fields.action) return htmlResponse(400, bulkView({ ...frame, error: 'Pick cancel, redrive or delete.' }, fields, null));
        try {
          return htmlResponse(200, bulkView(frame, fields, (await store.bulkJobs(fields.action, bulkFilter(fields), { dryRun: true })).matched));
        } catch (error) {
          return htmlResponse(400, bulkView({ ...frame, error: coerceError(error).message }, fields, null));
        }
      }
      if (action === 'bulk') {
        const kind = String(form.get('bulk_action') ?? '');
        if (!(JOB_ACTIONS as readonly string[]).includes(kind)) throw new Error('pick cancel, redrive or delete');
        const filter = bulkFilter(Object.fromEntries(['status', 'type', 'queue', 'owner', 'after', 'before'].map((k) => [k, String(form.get(k) ?? '') || undefined])) as BulkForm);
        const done = await bulkAction(store, kind as (typeof JOB_ACTIONS)[number], filter, { actor: operator.actor, signal: AbortSignal.timeout(BULK_BUDGET_MS) });
        const again = new URLSearchParams(Object.entries({ action: kind, status: form.get('status'), type: form.get('type'), queue: form.get('queue'), owner: form.get('owner'), after: form.get('after'), before: form.get('before') })
          .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
        return redirect(withMessage(`${base}/bulk?${again}`, 'done', `${kind}: ${done.affected} job(s) in ${done.batches} batch(es).${done.more ? ' More remain: count and run it again.' : ''}`));
      }
      return redirect(withMessage(back, 'error', `Unknown action ${JSON.stringify(action)}.`));
    } catch (error) {
      return redirect(withMessage(back, 'error', coerceError(error).message));
    }
  }

  return {
    async GET(request) {
      try {
        const url = new URL(request.url);
        const who = await access(request);
        if (!who.ok) return htmlResponse(who.status, signInPage(base, who.problem, who.status === 403, signInText));
        return await view(request, url, who.operator);
      } catch (error) {
        options.logger?.error('console page failed', { error: coerceError(error).message });
        return htmlResponse(500, signInPageless(`The console could not load this page: ${coerceError(error).message}`));
      }
    },
    async POST(request) {
      const url = new URL(request.url);
      if (url.pathname.replace(/\/$/, '') !== `${base}/action`) return new Response('not found', { status: 404 });
      // A form from another site: refused (browsers send Origin with every POST).
      const origin = request.headers.get('origin');
      if (origin && origin !== url.origin && origin !== `${request.headers.get('x-forwarded-proto') ?? url.protocol.replace(':', '')}://${request.headers.get('host')}`) {
        return new Response('cross-site request refused', { status: 403 });
      }
      let form: FormData;
      try {
        form = await request.formData();
      } catch {
        return new Response('expected a form', { status: 400 });
      }
      const action = String(form.get('action') ?? '');
      if (action === 'sign_in') {
        const key = String(form.get('key') ?? '');
        const keys = options.serviceKeys();
        if (!keys.length) return htmlResponse(503, signInPage(base, 'No service key is configured for this app (SUPABASE_SECRET_KEY), so the console cannot be opened with one.', false, signInText));
        if (!key || !keys.some((k) => constantTimeEqual(k, key))) return htmlResponse(401, signInPage(base, 'That is not the service key.', false, signInText));
        const payload = String(Date.now() + sessionMs);
        return redirect(base, { 'set-cookie': sessionCookie(request, `${payload}.${await sign(payload)}`, Math.floor(sessionMs / 1000)) });
      }
      if (action === 'sign_out') return redirect(base, { 'set-cookie': sessionCookie(request, '', 0) });
      const who = await access(request);
      if (!who.ok) return htmlResponse(who.status, signInPage(base, who.problem, who.status === 403, signInText));
      if (!constantTimeEqual(String(form.get('csrf') ?? ''), await csrfFor(who.operator))) {
        return new Response('the form is stale or from elsewhere (CSRF token): reload the page and try again', { status: 403 });
      }
      return act(request, who.operator, form);
    },
  };
}

function viewsNotFound(frame: Frame, message: string): Html {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found · edgejobs console</title></head>
<body><p>${message}</p><p><a href="${frame.base}">Back to the console</a></p></body></html>`;
}

function signInPageless(message: string): Html {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error · edgejobs console</title></head><body><p>${message}</p></body></html>`;
}
