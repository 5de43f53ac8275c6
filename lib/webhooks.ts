/**
 * Signed notifications: completion webhooks and alerts, delivered by a worker as jobs of the
 * built-in type `edgejobs.webhook` (queue `edgejobs`). The database enqueues a delivery when a job
 * with a webhook URL ends (in the same transaction) and when an alert condition changes
 * (`record_alerts`); a drain runs it like any job: a POST signed the Standard Webhooks way
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature`, signed with the `standardwebhooks`
 * library), retried with backoff on anything but a 2xx, at least once. The `webhook-id` is the
 * delivery's job id, the same on every attempt, so a receiver deduplicates by it.
 *
 * Settings (env vars of the worker): EDGEJOBS_WEBHOOK_SECRET (`whsec_` + base64 of 24-64 random
 * bytes), EDGEJOBS_WEBHOOK_ALLOW_HTTP (plain http targets; default no) and
 * EDGEJOBS_WEBHOOK_ALLOW_PRIVATE (targets in private, loopback or link-local ranges; default no).
 */
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { PermanentError, RetryLaterError } from './errors.ts';
import { defineJob, type AnyJobDefinition } from './job.ts';

/** The built-in job type of a delivery. */
export const WEBHOOK_JOB_TYPE = 'edgejobs.webhook';

export interface WebhookSettings {
  /** The signing secret (`whsec_…`); without it deliveries fail (and retry) saying so. */
  secret?: string;
  /** Allow http:// targets. Default false (EDGEJOBS_WEBHOOK_ALLOW_HTTP=true for local receivers). */
  allowHttp?: boolean;
  /** Allow targets that resolve to private, loopback, link-local or otherwise non-public addresses. Default false. */
  allowPrivate?: boolean;
  /** How long one POST may take. Default 10,000 ms. */
  timeoutMs?: number;
  /** The fetch to POST with (tests). Default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Resolves a host name to its addresses (tests). Default: node:dns (Node and Deno). */
  resolve?: (host: string) => Promise<string[]>;
}

type Env = Record<string, string | undefined>;

/** The process's environment in Node and Deno (empty in a browser). */
export function runtimeEnv(): Env {
  const g = globalThis as { process?: { env?: Env }; Deno?: { env: { toObject(): Env } } };
  if (g.process?.env) return g.process.env;
  try {
    return g.Deno?.env.toObject() ?? {};
  } catch {
    return {}; // Deno without --allow-env
  }
}

const flag = (v: string | undefined) => v !== undefined && /^(1|true|yes)$/i.test(v);

/** The settings from EDGEJOBS_WEBHOOK_* (see the module comment). */
export function webhookSettingsFromEnv(env: Env = runtimeEnv()): WebhookSettings {
  return {
    secret: env.EDGEJOBS_WEBHOOK_SECRET || undefined,
    allowHttp: flag(env.EDGEJOBS_WEBHOOK_ALLOW_HTTP),
    allowPrivate: flag(env.EDGEJOBS_WEBHOOK_ALLOW_PRIVATE),
  };
}

/** The headers of one signed POST of `body`. */
export function signWebhook(secret: string, id: string, body: string, at: Date = new Date()): Record<string, string> {
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

async function defaultResolve(host: string): Promise<string[]> {
  // A dynamic import: the library has no static node: imports (it runs in browsers too); Node and
  // Deno both have node:dns.
  // Ignored by bundlers: a browser bundle of the main entry must not try to resolve it.
  const dns = await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ 'node:dns/promises');
  return (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * Throws (PermanentError) unless `url` may be posted to: http(s) only, plain http only when
 * allowed, and, unless private targets are allowed, a host whose every address is public
 * (ipaddr.js' `unicast` range: not private, loopback, link-local, carrier-grade NAT, multicast,
 * reserved or unique-local). A host that does not resolve now is a retryable error.
 */
export async function checkWebhookTarget(url: string, settings: WebhookSettings): Promise<URL> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new PermanentError(`webhook URL ${JSON.stringify(url)} is not a URL`, { code: 'webhook_url_invalid' });
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new PermanentError(`webhook URL must be http(s), not ${target.protocol}`, { code: 'webhook_url_invalid' });
  }
  if (target.protocol === 'http:' && !settings.allowHttp) {
    throw new PermanentError('webhook URL must be https (set EDGEJOBS_WEBHOOK_ALLOW_HTTP=true to allow http)', { code: 'webhook_url_refused' });
  }
  if (target.username || target.password) {
    throw new PermanentError('webhook URL must not carry a user name or password', { code: 'webhook_url_invalid' });
  }
  if (settings.allowPrivate) return target;
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = ipaddr.isValid(host) ? [host] : await (settings.resolve ?? defaultResolve)(host).catch((error: unknown) => {
    throw new Error(`webhook host ${host} does not resolve: ${(error as Error).message}`);
  });
  if (addresses.length === 0) throw new Error(`webhook host ${host} has no address`);
  for (const address of addresses) {
    const parsed = ipaddr.process(address);
    // IPv4-compatible IPv6 (::a.b.c.d, deprecated) reaches the IPv4 address on some stacks.
    const named = parsed.range();
    const range = named === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0) ? 'ipv4Compatible' : named;
    if (range !== 'unicast') {
      throw new PermanentError(
        `webhook host ${host} is a ${range} address (${address}); set EDGEJOBS_WEBHOOK_ALLOW_PRIVATE=true to allow private targets`,
        { code: 'webhook_url_refused' },
      );
    }
  }
  return target;
}

/** What a delivery job holds: where, and the event as it was when the job ended. */
export const webhookInput = z.object({
  url: z.string(),
  event: z.object({ type: z.string(), timestamp: z.string(), data: z.record(z.string(), z.unknown()) }),
});

/** One POST of a delivery: resolves on a 2xx, throws otherwise (the job retries; 410 Gone stops). */
export async function deliverWebhook(
  id: string, input: z.output<typeof webhookInput>, settings: WebhookSettings, signal?: AbortSignal,
): Promise<{ status: number }> {
  if (!settings.secret) throw new Error('EDGEJOBS_WEBHOOK_SECRET is not set in the worker: webhooks cannot be signed');
  const target = await checkWebhookTarget(input.url, settings);
  const body = JSON.stringify(input.event);
  const timeout = AbortSignal.timeout(settings.timeoutMs ?? 10_000);
  let response: Response;
  try {
    response = await (settings.fetch ?? fetch)(target, {
      method: 'POST',
      headers: { ...signWebhook(settings.secret, id, body), 'user-agent': 'edgejobs-webhooks' },
      body,
      // Not followed: a redirect could lead to a target the check above would refuse.
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    throw new Error(`webhook POST to ${target.origin} failed: ${(error as Error).message}`);
  }
  const text = await firstChars(response, 200);
  if (response.status >= 200 && response.status < 300) return { status: response.status };
  const said = `webhook POST to ${target.origin} answered ${response.status}${text ? `: ${text}` : ''}`;
  if (response.status === 410) throw new PermanentError(said, { code: 'webhook_gone' });
  const retryAfter = Number(response.headers.get('retry-after'));
  if ((response.status === 429 || response.status === 503) && retryAfter > 0 && retryAfter <= 3600) {
    throw new RetryLaterError(said, { retryAt: new Date(Date.now() + retryAfter * 1000) });
  }
  throw new Error(said);
}

/** The start of a response's body (at most `n` characters; the rest is not read). */
async function firstChars(response: Response, n: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < n) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // a broken body: what was read is enough
  } finally {
    void reader.cancel().catch(() => {});
  }
  return text.slice(0, n);
}

/**
 * The built-in delivery job type, which every drain runs besides the app's registry (unless
 * `webhooks: false`). Users cannot enqueue it; a delivery is tried 12 times over about 3.5 hours.
 */
export function webhookJobType(settings: WebhookSettings = webhookSettingsFromEnv()): AnyJobDefinition {
  return defineJob({
    type: WEBHOOK_JOB_TYPE,
    input: webhookInput,
    queue: 'edgejobs',
    allowUsers: false,
    retry: { maxAttempts: 12, baseDelayMs: 10_000, maxDelayMs: 3_600_000 },
    timeoutMs: (settings.timeoutMs ?? 10_000) + 5_000,
    handler: async (input, ctx) => deliverWebhook(ctx.job.id, input, settings, ctx.signal),
  }) as unknown as AnyJobDefinition;
}
