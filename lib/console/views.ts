/**
 * The console's views: functions from data to HTML (see html.ts: every value escaped). Actions
 * are links to a confirmation (`?confirm=…`), whose form POSTs to `${base}/action` with the CSRF
 * token; nothing runs on a GET.
 */
import type { HealthReport } from '../health.ts';
import type {
  ConsoleJob, ConsoleJobsFilter, ConsoleJobsPage, OperatorActionRecord, QueueSettings, QueueStats, ScheduleStatus,
  ThroughputBucket, TypeStats, WorkerRunRecord,
} from '../store.ts';
import { ago, duration, html, json, query, STYLE, time, type Html } from './html.ts';

export interface Frame {
  base: string;
  /** Who is signed in, shown in the header. */
  who: string;
  csrf: string;
  /** A message after an action (`?done=`), or an error (`?error=`). */
  done?: string | null;
  error?: string | null;
  /** Reload every this many seconds (live views). */
  refreshSeconds?: number;
}

const NAV: Array<[string, string]> = [['', 'Queues'], ['/jobs', 'Jobs'], ['/schedules', 'Schedules'], ['/runs', 'Worker runs'], ['/bulk', 'Bulk actions'], ['/audit', 'Audit']];

export function page(title: string, f: Frame, current: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${f.refreshSeconds ? html`<meta http-equiv="refresh" content="${f.refreshSeconds}">` : ''}
<meta name="robots" content="noindex"><title>${title} · edgejobs console</title><style>${STYLE}</style></head>
<body class="ej"><header><a class="brand" href="${f.base}">edgejobs</a>
${NAV.map(([path, label]) => html`<a href="${f.base}${path}" class="${current === path ? 'on' : ''}">${label}</a>`)}
<span class="who">${f.who} · <form class="inline" method="post" action="${f.base}/action"><input type="hidden" name="csrf" value="${f.csrf}"><input type="hidden" name="action" value="sign_out"><button type="submit" style="padding:0 6px;font-size:12px">Sign out</button></form></span></header>
<main>
${f.done ? html`<div class="banner ok" role="status">${f.done}</div>` : ''}
${f.error ? html`<div class="banner bad" role="alert">${f.error}</div>` : ''}
${body}
</main></body></html>`;
}

/** The sign-in page (401), or "operators only" (403). */
export function signInPage(base: string, problem: string | null, forbidden: boolean, text: { hours: number; claim: string | false }): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>Sign in · edgejobs console</title><style>${STYLE}</style></head>
<body class="ej"><header><span class="brand">edgejobs</span></header><main style="max-width:480px">
<h1>${forbidden ? 'Operators only' : 'Sign in to the jobs console'}</h1>
${problem ? html`<div class="banner bad" role="alert">${problem}</div>` : ''}
<div class="card">
<p>Sign in with the project's service key (Supabase secret key). It is checked on the server and
never stored in the browser: you get a signed, HttpOnly session cookie for ${text.hours} hours.</p>
<form method="post" action="${base}/action"><input type="hidden" name="action" value="sign_in">
<label>Service key <input type="password" name="key" autocomplete="off" required style="width:100%"></label>
<p><button class="primary" type="submit">Sign in</button></p></form>
${text.claim ? html`<p class="muted">Operators signed in to this app with Supabase Auth whose JWT carries the operator claim
(<code>app_metadata.${text.claim}: true</code>) need no key.</p>` : ''}</div></main></body></html>`;
}

const badge = (status: string) => html`<span class="badge s-${status}">${status}</span>`;

/** A link to a confirmation of an action (the confirmation POSTs it). */
const confirmLink = (f: Frame, back: string, label: string, params: Record<string, string | number | null>) =>
  html`<a class="button" href="${back}${back.includes('?') ? '&' : '?'}${query({ ...params, action: undefined, confirm: params.action as string }).slice(1)}">${label}</a>`;

/** The confirmation box: what will happen, and the form that does it. */
export function confirmBox(f: Frame, back: string, action: string, fields: Record<string, string>, what: string, danger = false): Html {
  return html`<div class="card banner note" id="confirm"><p><b>Confirm:</b> ${what}</p>
<form method="post" action="${f.base}/action" class="actions"><input type="hidden" name="csrf" value="${f.csrf}">
<input type="hidden" name="action" value="${action}"><input type="hidden" name="back" value="${back}">
${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit" class="${danger ? 'danger' : 'primary'}">Yes, ${action.replace(/_/g, ' ')}</button>
<a class="button" href="${back}">Keep as is</a></form></div>`;
}

function chart(buckets: ThroughputBucket[]): Html {
  const w = 600;
  const h = 100;
  const max = Math.max(1, ...buckets.map((b) => b.completed + b.failed + b.cancelled));
  const bw = w / Math.max(1, buckets.length);
  const bars = buckets.map((b, i) => {
    const c = (b.completed / max) * h;
    const fl = (b.failed / max) * h;
    const x = (i * bw).toFixed(1);
    return html`<g><title>${b.start.toISOString().slice(11, 16)}: ${b.completed} completed, ${b.failed} failed, ${b.cancelled} cancelled</title>
<rect x="${x}" y="${(h - c).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${c.toFixed(1)}" fill="#34a853"></rect>
<rect x="${x}" y="${(h - c - fl).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${fl.toFixed(1)}" fill="#ea4335"></rect></g>`;
  });
  const total = buckets.reduce((n, b) => n + b.completed + b.failed + b.cancelled, 0);
  return html`<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="Jobs ended per minute over the last hour: ${total} in all">${bars}</svg>
<div class="legend muted" style="display:flex;justify-content:space-between"><span>${buckets[0] ? ago(buckets[0].start) : ''}</span><span>now</span></div>
<div class="legend muted"><span><i class="sw" style="background:#34a853"></i>completed</span><span><i class="sw" style="background:#ea4335"></i>failed</span><span>peak ${max}/min · ${total} in the hour</span></div>`;
}

export interface QueueRow {
  name: string;
  stats: QueueStats[];
  settings: QueueSettings | null;
}

export function overviewView(f: Frame, data: { health: HealthReport; queues: QueueRow[]; throughput: ThroughputBucket[]; types: TypeStats[]; running: number; confirm: Html | null }): Html {
  const { health } = data;
  const h = health.health;
  const sum = (rows: QueueStats[], k: 'ready' | 'scheduled' | 'processing' | 'completed' | 'failed' | 'cancelled') => rows.reduce((n, r) => n + r[k], 0);
  const oldest = (rows: QueueStats[]) => rows.reduce<Date | null>((m, r) => (r.oldestReadyAt && (!m || r.oldestReadyAt < m) ? r.oldestReadyAt : m), null);
  return page('Queues', f, '', html`
${data.confirm ?? ''}
<h1>Queues</h1>
${health.healthy
    ? html`<div class="banner ok" data-health="healthy">Healthy. Last worker seen ${ago(h.lastSeenAt)}; ${data.running} drain(s) running.</div>`
    : html`<div class="banner bad" data-health="unhealthy"><b>Unhealthy:</b><ul>${health.problems.map((p) => html`<li>${p}</li>`)}</ul></div>`}
<div class="grid">
<div class="stat">Ready<b>${h.ready}</b></div><div class="stat">Scheduled<b>${h.scheduled}</b></div>
<div class="stat">Processing<b>${h.processing}</b></div><div class="stat">Oldest ready<b>${duration(h.oldestReadyAgeMs)}</b></div>
<div class="stat">Failed runs in a row<b>${h.consecutiveFailedRuns}</b></div>
${h.unhandled ? html`<div class="stat">No worker runs<b>${h.unhandled}</b><span class="muted">${h.unhandledTypes.join(', ')}</span></div>` : ''}
</div>
<h2>Last hour</h2><div class="card">${chart(data.throughput)}</div>
<div class="card scroll"><table><thead><tr><th>Queue</th><th class="num">Ready</th><th class="num">Scheduled</th><th class="num">Processing</th>
<th class="num">Completed</th><th class="num">Failed</th><th class="num">Cancelled</th><th>Oldest ready</th><th class="num">Per min</th><th>Limit</th><th>State</th><th></th></tr></thead><tbody>
${data.queues.length === 0 ? html`<tr><td colspan="12" class="muted">No jobs yet.</td></tr>` : ''}
${data.queues.map((q) => {
    const paused = q.settings?.paused === true;
    const back = f.base;
    return html`<tr data-queue="${q.name}"><td><a href="${f.base}/jobs${query({ queue: q.name })}">${q.name}</a></td>
<td class="num">${sum(q.stats, 'ready')}</td><td class="num">${sum(q.stats, 'scheduled')}</td><td class="num">${sum(q.stats, 'processing')}</td>
<td class="num">${sum(q.stats, 'completed')}</td><td class="num">${sum(q.stats, 'failed')}</td><td class="num">${sum(q.stats, 'cancelled')}</td>
<td>${oldest(q.stats) ? ago(oldest(q.stats)) : '—'}</td><td class="num">${(sum(q.stats, 'completed') + sum(q.stats, 'failed') + sum(q.stats, 'cancelled')) / 60 >= 10 ? Math.round((sum(q.stats, 'completed') + sum(q.stats, 'failed') + sum(q.stats, 'cancelled')) / 60) : ((sum(q.stats, 'completed') + sum(q.stats, 'failed') + sum(q.stats, 'cancelled')) / 60).toFixed(1)}</td>
<td>${q.settings?.concurrencyLimit ?? 'none'}</td><td>${paused ? html`<span class="badge s-failed">paused</span>` : html`<span class="badge s-completed">running</span>`}</td>
<td class="actions">${paused
    ? confirmLink(f, back, 'Resume', { action: 'resume_queue', target: q.name })
    : confirmLink(f, back, 'Pause', { action: 'pause_queue', target: q.name })}
<form class="inline" method="get" action="${f.base}"><input type="hidden" name="confirm" value="set_queue_concurrency"><input type="hidden" name="target" value="${q.name}">
<input name="value" inputmode="numeric" placeholder="limit" aria-label="Concurrency limit of ${q.name}" style="width:64px"><button type="submit">Set limit</button></form></td></tr>`;
  })}
</tbody></table></div>
<h2>Job types (last hour)</h2>
<div class="card scroll"><table><thead><tr><th>Type</th><th>Schedule</th><th class="num">Runs</th><th class="num">Completed</th><th class="num">Failed</th><th class="num">Failures in a row</th><th>p50</th><th>p95</th><th>Last success</th><th>Last failure</th></tr></thead><tbody>
${data.types.length === 0 ? html`<tr><td colspan="10" class="muted">No runs in the last hour.</td></tr>` : ''}
${data.types.map((t) => html`<tr><td><a href="${f.base}/jobs${query({ type: t.type })}">${t.type}</a></td><td>${t.schedule ?? ''}</td><td class="num">${t.runs}</td><td class="num">${t.completed}</td><td class="num">${t.failed}</td>
<td class="num">${t.consecutiveFailures ? html`<span class="badge s-failed">${t.consecutiveFailures}</span>` : 0}</td><td>${duration(t.durationMs?.p50)}</td><td>${duration(t.durationMs?.p95)}</td><td>${ago(t.lastSuccessAt)}</td><td>${ago(t.lastFailureAt)}</td></tr>`)}
</tbody></table></div>
<p class="muted">${f.refreshSeconds
    ? html`Live: reloads every ${f.refreshSeconds} s. <a href="${f.base}">Stop</a>`
    : html`<a href="${f.base}">Refresh</a> · <a href="${f.base}?live=1">Live (reload every 10 s)</a>`}. Counts come from indexes (no table scans).</p>`);
}

export function jobsView(f: Frame, filter: ConsoleJobsFilter & { q?: string }, pageData: ConsoleJobsPage, self: string): Html {
  const dt = (d: Date | undefined) => (d ? d.toISOString().slice(0, 16) : '');
  const filterQuery = {
    status: filter.status, type: filter.type, queue: filter.queue, owner: filter.ownerId, q: filter.q,
    after: filter.createdAfter?.toISOString(), before: filter.createdBefore?.toISOString(),
  };
  return page('Jobs', f, '/jobs', html`
<h1>Jobs</h1>
<form class="filters card" method="get" action="${f.base}/jobs">
<label>Status <select name="status"><option value="">any</option>${['queued', 'processing', 'completed', 'failed', 'cancelled'].map((s) => html`<option ${filter.status === s ? 'selected' : ''}>${s}</option>`)}</select></label>
<label>Type <input name="type" value="${filter.type ?? ''}" size="14"></label>
<label>Queue <input name="queue" value="${filter.queue ?? ''}" size="10"></label>
<label>Owner (user id) <input name="owner" value="${filter.ownerId ?? ''}" size="14"></label>
<label>Created after (UTC) <input type="datetime-local" name="after" value="${dt(filter.createdAfter)}"></label>
<label>Created before (UTC) <input type="datetime-local" name="before" value="${dt(filter.createdBefore)}"></label>
<label>Job id or idempotency key <input name="q" value="${filter.q ?? ''}" size="20"></label>
<button class="primary" type="submit">Filter</button> <a class="button" href="${f.base}/jobs">Clear</a>
<a class="button" href="${f.base}/bulk${query({ status: filter.status, type: filter.type, queue: filter.queue, owner: filter.ownerId, after: filterQuery.after, before: filterQuery.before })}">Bulk action on this filter…</a>
</form>
<div class="card scroll"><table><thead><tr><th>Job</th><th>Type</th><th>Queue</th><th>Status</th><th class="num">Attempts</th><th>Created</th><th>Finished</th><th>Owner</th><th>Error</th></tr></thead><tbody>
${pageData.jobs.length === 0 ? html`<tr><td colspan="9" class="muted">No jobs match${pageData.next ? ' among the jobs looked at so far' : ''}.</td></tr>` : ''}
${pageData.jobs.map((j) => html`<tr data-job="${j.id}"><td><a href="${f.base}/jobs/${j.id}"><code>${j.id.slice(0, 8)}</code></a></td><td>${j.type}</td><td>${j.queue}</td><td>${badge(j.status)}</td>
<td class="num">${j.attempts}/${j.maxAttempts}</td><td>${time(j.createdAt)}</td><td>${time(j.finishedAt)}</td><td>${j.ownerId ? html`<code>${j.ownerId.slice(0, 8)}</code>` : html`<span class="muted">server</span>`}</td>
<td class="wrap">${j.error ?? ''}</td></tr>`)}
</tbody></table></div>
${pageData.next ? html`<p><a class="button" rel="next" href="${self}${query({ ...filterQuery, cursor: `${pageData.next.createdAt.toISOString()}_${pageData.next.id}` })}">Older jobs →</a>
<span class="muted">(${pageData.scanned} jobs looked at for this page)</span></p>` : html`<p class="muted">End of the list.</p>`}`);
}

export function jobView(f: Frame, job: ConsoleJob, confirm: Html | null): Html {
  // (The caller only passes a confirmation whose target is this job.)
  const self = `${f.base}/jobs/${job.id}`;
  const finished = job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled';
  type Event = { at: Date; what: string };
  const events: Event[] = [{ at: job.createdAt, what: 'enqueued' }];
  if (job.runAt > job.createdAt && job.attempts === 0 && (!job.finishedAt || job.runAt <= job.finishedAt)) events.push({ at: job.runAt, what: 'due to run' });
  for (const e of job.errors) {
    if (typeof e.at === 'string') events.push({ at: new Date(e.at), what: `attempt ${typeof e.attempt === 'number' ? e.attempt : '?'} failed: ${e.message}` });
  }
  if (job.startedAt) events.push({ at: job.startedAt, what: `attempt ${job.attempts} started${job.lockedBy ? ` on ${job.lockedBy}` : ''}` });
  if (job.cancelRequestedAt) events.push({ at: job.cancelRequestedAt, what: 'cancel requested' });
  if (job.status === 'queued' && job.attempts > 0) events.push({ at: job.runAt, what: `retry due (attempt ${job.attempts + 1})` });
  if (job.finishedAt) events.push({ at: job.finishedAt, what: job.status });
  events.sort((a, b) => a.at.getTime() - b.at.getTime());
  const related = (label: string, list: Array<{ id: string; type: string; status: string }>) =>
    list.length ? html`<dt>${label}</dt><dd>${list.map((c) => html`<div><a href="${f.base}/jobs/${c.id}"><code>${c.id.slice(0, 8)}</code></a> ${c.type} ${badge(c.status)}</div>`)}</dd>` : '';
  return page(`Job ${job.id.slice(0, 8)}`, f, '/jobs', html`
${confirm ?? ''}
<h1>${job.type} ${badge(job.status)}</h1>
<div class="actions" style="margin-bottom:12px">
${!finished ? confirmLink(f, self, 'Cancel', { action: 'cancel', target: job.id }) : ''}
${job.status === 'failed' || job.status === 'cancelled' ? confirmLink(f, self, 'Retry', { action: 'redrive', target: job.id }) : ''}
${job.status !== 'processing' ? confirmLink(f, self, 'Delete', { action: 'delete', target: job.id }) : ''}
</div>
<div class="card"><dl>
<dt>Id</dt><dd><code>${job.id}</code></dd><dt>Queue</dt><dd>${job.queue}</dd><dt>Priority</dt><dd>${job.priority}</dd>
<dt>Attempts</dt><dd>${job.attempts} of ${job.maxAttempts}</dd>
<dt>Owner</dt><dd>${job.ownerId ? html`<a href="${f.base}/jobs${query({ owner: job.ownerId })}"><code>${job.ownerId}</code></a>` : 'the server'}</dd>
${job.idempotencyKey ? html`<dt>Idempotency key</dt><dd><code>${job.idempotencyKey}</code></dd>` : ''}
${job.singletonKey ? html`<dt>Singleton key</dt><dd><code>${job.singletonKey}</code></dd>` : ''}
${job.scheduleName ? html`<dt>Schedule</dt><dd>${job.scheduleName} (fire time ${time(job.scheduledFor)})</dd>` : ''}
<dt>Lease</dt><dd>${job.lockedBy ? html`held by <code>${job.lockedBy}</code> until ${time(job.lockedUntil)}` : html`<span class="muted">none</span>`}</dd>
${finished ? '' : html`<dt>${job.attempts > 0 && job.status === 'queued' ? 'Next attempt' : 'Runs at'}</dt><dd>${time(job.runAt)} (${ago(job.runAt)})</dd>`}
<dt>Kept until</dt><dd>${job.expiresAt ? time(job.expiresAt) : html`<span class="muted">${duration(job.keepForMs)} after it ends</span>`}</dd>
${job.webhookUrl ? html`<dt>Webhook</dt><dd><code>${job.webhookUrl}</code></dd>` : ''}
${related('Parent', job.parent ? [job.parent] : [])}
${related('Children', job.children)}
</dl></div>
<h2>Timeline</h2><div class="card"><ol class="timeline">${events.map((e) => html`<li>${time(e.at)} ${e.what}</li>`)}</ol></div>
<h2>Input</h2><div class="card">${json(job.input)}</div>
<h2>Progress</h2><div class="card">${json(job.progress)}</div>
<h2>Checkpoint</h2><div class="card">${json(job.checkpoint)}</div>
<h2>Result</h2><div class="card">${json(job.result)}</div>
<h2>Errors, every attempt</h2><div class="card scroll">${job.errors.length === 0 ? html`<span class="muted">none</span>` : html`<table><thead><tr><th>Attempt</th><th>At</th><th>Code</th><th>Message</th></tr></thead><tbody>
${job.errors.map((e) => html`<tr><td>${typeof e.attempt === 'number' ? e.attempt : ''}</td><td>${typeof e.at === 'string' ? time(new Date(e.at)) : ''}</td><td><code>${e.code ?? ''}</code></td><td class="wrap">${e.message}</td></tr>`)}
</tbody></table>`}</div>
<h2>Webhook deliveries</h2><div class="card scroll">${job.deliveries.length === 0 ? html`<span class="muted">none</span>` : html`<table><thead><tr><th>Delivery</th><th>Event</th><th>Status</th><th class="num">Attempts</th><th>Next / done</th><th>Last error</th></tr></thead><tbody>
${job.deliveries.map((d) => html`<tr data-delivery="${d.id}"><td><a href="${f.base}/jobs/${d.id}"><code>${d.id.slice(0, 8)}</code></a></td><td>${d.event}</td><td>${badge(d.status)}</td><td class="num">${d.attempts}/${d.maxAttempts}</td>
<td>${d.finishedAt ? time(d.finishedAt) : ago(d.runAt)}</td><td class="wrap">${d.errors[d.errors.length - 1]?.message ?? ''}</td></tr>`)}
</tbody></table>`}</div>`);
}

export function schedulesView(f: Frame, schedules: ScheduleStatus[], confirm: Html | null): Html {
  return page('Schedules', f, '/schedules', html`
${confirm ?? ''}
<h1>Schedules</h1>
<div class="card scroll"><table><thead><tr><th>Name</th><th>Cron</th><th>Type</th><th>State</th><th>Next fire</th><th>Last fire</th><th>Last outcome</th><th class="num">Fired</th><th class="num">Skipped</th><th></th></tr></thead><tbody>
${schedules.length === 0 ? html`<tr><td colspan="10" class="muted">No schedules.</td></tr>` : ''}
${schedules.map((s) => html`<tr data-schedule="${s.name}"><td>${s.name}</td><td><code>${s.cron}</code> <span class="muted">${s.timezone}</span></td><td>${s.type}</td><td>${badge(s.state)}</td>
<td>${s.nextFireAt ? html`${time(s.nextFireAt)} <span class="muted">${ago(s.nextFireAt)}</span>` : '—'}</td><td>${time(s.lastFireAt)}</td>
<td class="wrap">${s.lastJob ? html`<a href="${f.base}/jobs/${s.lastJob.id}">${badge(s.lastJob.status)}</a> ${s.lastJob.error ?? ''}` : '—'}</td>
<td class="num">${s.fired}</td><td class="num">${s.skipped}</td>
<td class="actions">${s.state === 'retired' ? '' : html`${s.state === 'paused'
    ? confirmLink(f, `${f.base}/schedules`, 'Resume', { action: 'resume_schedule', target: s.name })
    : confirmLink(f, `${f.base}/schedules`, 'Pause', { action: 'pause_schedule', target: s.name })}
${confirmLink(f, `${f.base}/schedules`, 'Run now', { action: 'trigger_schedule', target: s.name })}`}</td></tr>`)}
</tbody></table></div>`);
}

export function runsView(f: Frame, runs: WorkerRunRecord[], self: string): Html {
  const last = runs[runs.length - 1];
  return page('Worker runs', f, '/runs', html`
<h1>Worker runs</h1>
<div class="card scroll"><table><thead><tr><th>Started</th><th>Trigger</th><th>Worker</th><th>Status</th><th>Duration</th><th class="num">Claimed</th><th class="num">Completed</th><th class="num">Retried</th><th class="num">Failed</th><th class="num">Handed back</th><th class="num">Lease lost</th><th>Stop</th><th>Error</th></tr></thead><tbody>
${runs.length === 0 ? html`<tr><td colspan="13" class="muted">No runs yet.</td></tr>` : ''}
${runs.map((r) => html`<tr data-run="${r.id}"><td>${time(r.startedAt)}</td><td>${r.trigger}</td><td><code>${r.workerId.slice(0, 24)}</code></td>
<td><span class="badge s-${r.status === 'succeeded' ? 'completed' : r.status === 'running' ? 'processing' : 'failed'}">${r.status}</span></td>
<td>${r.finishedAt ? duration(r.finishedAt.getTime() - r.startedAt.getTime()) : '—'}</td>
<td class="num">${r.claimed}</td><td class="num">${r.completed}</td><td class="num">${r.retried}</td><td class="num">${r.failed}</td><td class="num">${r.handedBack}</td><td class="num">${r.leaseLost}</td>
<td>${r.stopReason ?? ''}</td><td class="wrap">${r.error?.message ?? ''}</td></tr>`)}
</tbody></table></div>
${runs.length >= 50 && last ? html`<p><a class="button" href="${self}${query({ before: last.id })}">Older runs →</a></p>` : ''}`);
}

export function auditView(f: Frame, actions: OperatorActionRecord[], self: string): Html {
  const last = actions[actions.length - 1];
  return page('Audit', f, '/audit', html`
<h1>What operators did</h1>
<div class="card scroll"><table><thead><tr><th>When</th><th>Who</th><th>Action</th><th>On</th><th class="num">Affected</th></tr></thead><tbody>
${actions.length === 0 ? html`<tr><td colspan="5" class="muted">Nothing yet.</td></tr>` : ''}
${actions.map((a) => html`<tr data-action="${a.id}"><td>${time(a.at)}</td><td>${a.actor}</td><td>${a.action}</td><td class="wrap"><code>${JSON.stringify(a.filter)}</code></td><td class="num">${a.affected}</td></tr>`)}
</tbody></table></div>
${actions.length >= 50 && last ? html`<p><a class="button" href="${self}${query({ before: last.id })}">Older →</a></p>` : ''}`);
}

export interface BulkForm {
  action?: 'cancel' | 'redrive' | 'delete';
  status?: string; type?: string; queue?: string; owner?: string; after?: string; before?: string;
}

export function bulkView(f: Frame, form: BulkForm, counted: number | null): Html {
  const fields = Object.fromEntries(Object.entries(form).filter(([k, v]) => v && k !== 'action')) as Record<string, string>;
  const describe = [form.status && `status ${form.status}`, form.type && `type ${form.type}`, form.queue && `queue ${form.queue}`,
    form.owner && `owner ${form.owner}`, form.after && `created after ${form.after}`, form.before && `created before ${form.before}`].filter(Boolean).join(', ');
  return page('Bulk actions', f, '/bulk', html`
<h1>Bulk actions</h1>
<p class="muted">Cancel, retry (redrive) or delete every job a filter matches. First a dry run counts them; then the action
runs in batches of at most 1,000 jobs, each its own transaction, recorded in the audit with your name.</p>
<form class="filters card" method="post" action="${f.base}/action"><input type="hidden" name="action" value="bulk_count">
<label>Action <select name="bulk_action">${(['cancel', 'redrive', 'delete'] as const).map((a) => html`<option ${form.action === a ? 'selected' : ''} value="${a}">${a === 'redrive' ? 'redrive (retry)' : a}</option>`)}</select></label>
<label>Status <select name="status"><option value="">any</option>${['queued', 'processing', 'completed', 'failed', 'cancelled'].map((s) => html`<option ${form.status === s ? 'selected' : ''}>${s}</option>`)}</select></label>
<label>Type <input name="type" value="${form.type ?? ''}" size="14"></label>
<label>Queue <input name="queue" value="${form.queue ?? ''}" size="10"></label>
<label>Owner (user id) <input name="owner" value="${form.owner ?? ''}" size="14"></label>
<label>Created after <input name="after" value="${form.after ?? ''}" placeholder="2026-12-01T00:00Z" size="18"></label>
<label>Created before <input name="before" value="${form.before ?? ''}" placeholder="2026-12-02T00:00Z" size="18"></label>
<input type="hidden" name="csrf" value="${f.csrf}"><button class="primary" type="submit">Count (dry run)</button></form>
${counted === null ? '' : html`<div class="card" id="confirm"><p data-matched="${counted}"><b>${counted}</b> job(s) match: ${form.action} where ${describe || 'no filter'}.</p>
${counted > 0 && form.action ? html`<form method="post" action="${f.base}/action"><input type="hidden" name="csrf" value="${f.csrf}"><input type="hidden" name="action" value="bulk">
${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<input type="hidden" name="bulk_action" value="${form.action}">
<button type="submit" class="danger">Yes, ${form.action} ${counted} job(s)</button> <a class="button" href="${f.base}/bulk">Keep as is</a></form>` : ''}</div>`}`);
}
