/**
 * STAND-IN for PostgREST (Supabase's Data API), which cannot run on this machine. It speaks the
 * part of PostgREST's protocol that supabase-js `rpc()` uses, against the real database:
 * - `POST /rest/v1/rpc/<fn>` with the named arguments as a JSON object; arguments are typed the
 *   way PostgREST does it (`json_to_record` over the body, with the function's own argument types);
 * - the `apikey` header is required (as Supabase's gateway requires it). The gateway's key
 *   mapping: a publishable key (`sb_publishable_…`, {@link PUBLISHABLE_KEY}) acts as `anon` and a
 *   secret key (`sb_secret_…`, {@link SECRET_KEY}) as `service_role`, unless `Authorization:
 *   Bearer` carries a user's JWT; any other `sb_` key is refused. With a legacy key (a JWT), the
 *   JWT comes from `Authorization: Bearer`, else from `apikey`. JWTs are verified (HS256, the
 *   project's JWT secret);
 *   the call runs in a transaction with `set local role <claims.role>` and
 *   `request.jwt.claims` set, so `auth.uid()` and grants behave as on Supabase;
 * - answers: an array for set-returning functions, an object for one composite, the bare value
 *   for scalars, 204 for void; errors as `{ code, message, details, hint }` with PostgREST's
 *   status codes for the SQLSTATE (42501 → 401 for anon, 403 otherwise; P0001 → 400;
 *   42883 → 404; 08xxx/53xxx → 503; 23505 → 409; our EJxxx → 400; unknown function → 404 PGRST202).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { jwtVerify, SignJWT } from 'jose';

export interface PostgrestStandIn {
  url: string;
  /** Requests served, for tests that count round trips. */
  readonly calls: string[];
  stop(): Promise<void>;
}

interface FunctionInfo {
  args: Array<{ name: string; type: string }>;
  returns: 'set' | 'composite' | 'scalar' | 'void';
}

const API_ROLES = new Set(['anon', 'authenticated', 'service_role']);

/** The stand-in project's publishable key (the new format of the anon key). */
export const PUBLISHABLE_KEY = 'sb_publishable_edgejobs-test-publishable-key';
/** The stand-in project's secret key (the new format of the service_role key). */
export const SECRET_KEY = 'sb_secret_edgejobs-test-secret-key-0123456789';
const KEY_ROLES = new Map([[PUBLISHABLE_KEY, 'anon'], [SECRET_KEY, 'service_role']]);

/**
 * With `functionsUrl`, the server also stands in for the gateway's Edge Functions route:
 * `/functions/v1/<rest>` is forwarded to `${functionsUrl}/<rest>` (method, headers and body), as
 * Supabase forwards it to the function. Then one URL serves as SUPABASE_URL for supabase-js.
 */
export async function startPostgrest(options: { databaseUrl: string; jwtSecret: string; functionsUrl?: string }): Promise<PostgrestStandIn> {
  const sql = postgres(options.databaseUrl, { max: 4, onnotice: () => {} });
  const secret = new TextEncoder().encode(options.jwtSecret);
  const functions = new Map<string, FunctionInfo | null>();
  const calls: string[] = [];

  async function describe(name: string): Promise<FunctionInfo | null> {
    if (functions.has(name)) return functions.get(name) ?? null;
    const rows = await sql`
      select p.proretset, t.typtype, t.typname, p.proargnames, p.proargmodes, p.pronargs,
             array(select format_type(x, null) from unnest(p.proargtypes::oid[]) x) as argtypes
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_type t on t.oid = p.prorettype
      where n.nspname = 'public' and p.proname = ${name}`;
    const row = rows[0];
    let info: FunctionInfo | null = null;
    if (rows.length === 1 && row) {
      const names = ((row.proargnames as string[] | null) ?? []).filter((_, i) => !row.proargmodes || ['i', 'b', 'v'].includes((row.proargmodes as string[])[i] ?? 'i'));
      const types = row.argtypes as string[];
      info = {
        args: names.slice(0, Number(row.pronargs)).map((n, i) => ({ name: n, type: types[i] as string })),
        returns: row.proretset ? 'set' : row.typname === 'void' ? 'void' : row.typtype === 'c' ? 'composite' : 'scalar',
      };
    }
    functions.set(name, info);
    return info;
  }

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (options.functionsUrl && path.startsWith('/functions/v1/')) {
      calls.push(`functions:${path.slice('/functions/v1/'.length)}`);
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
      try {
        const forwarded = await fetch(`${options.functionsUrl}/${path.slice('/functions/v1/'.length)}`, {
          method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
        });
        res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await forwarded.arrayBuffer()));
      } catch {
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"function unreachable"}');
      }
      return;
    }
    const match = /^\/rest\/v1\/rpc\/([A-Za-z0-9_]+)$/.exec(path);
    if (!match || req.method !== 'POST') return send(404, { code: 'PGRST125', message: 'Invalid path specified in request URL', details: null, hint: null });
    const fn = match[1] as string;
    calls.push(fn);
    const apikey = req.headers.apikey;
    if (!apikey) return send(401, { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
    const key = String(apikey);
    const bearerToken = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    if (key.startsWith('sb_') && !KEY_ROLES.has(key)) return send(401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
    let claims: Record<string, unknown>;
    if (KEY_ROLES.has(key) && (bearerToken === undefined || bearerToken === key)) {
      // What the gateway does for the new keys: the call runs as the key's role.
      claims = { role: KEY_ROLES.get(key) };
    } else {
      try {
        claims = (await jwtVerify(bearerToken ?? key, secret)).payload as Record<string, unknown>;
      } catch (e) {
        return send(401, { code: 'PGRST301', message: `JWT invalid: ${(e as Error).message}`, details: null, hint: null });
      }
    }
    const role = String(claims.role ?? 'anon');
    if (!API_ROLES.has(role)) return send(401, { code: 'PGRST301', message: `role "${role}" is not an API role`, details: null, hint: null });

    let body: Record<string, unknown>;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      body = text ? JSON.parse(text) : {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return send(400, { code: 'PGRST102', message: 'Empty or invalid json', details: null, hint: null });
    }

    const info = await describe(fn);
    const given = Object.keys(body);
    const args = info?.args.filter((a) => given.includes(a.name)) ?? [];
    if (!info || args.length !== given.length) {
      return send(404, {
        code: 'PGRST202', details: `Searched for the function public.${fn} with parameters ${given.join(', ')}, but no matches were found in the schema cache.`,
        hint: null, message: `Could not find the function public.${fn}(${given.join(', ')}) in the schema cache`,
      });
    }
    const record = args.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ');
    const named = args.map((a) => `${quoteIdent(a.name)} => _.${quoteIdent(a.name)}`).join(', ');
    const from = args.length ? `from json_to_record($1::json) as _(${record})` : 'from (select $1::json) as _';
    const callText = `public.${quoteIdent(fn)}(${named})`;
    const query = info.returns === 'set' ? `select coalesce(json_agg(f), '[]'::json) as v ${from}, lateral ${callText} f`
      : info.returns === 'composite' ? `select to_json(f) as v ${from}, lateral ${callText} f`
        : `select to_json(${callText}) as v ${from}`;
    try {
      const rows = await sql.begin(async (tx) => {
        await tx.unsafe(`set local role ${quoteIdent(role)}`);
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
        return tx.unsafe(query, [tx.json(body as postgres.JSONValue)]);
      });
      if (info.returns === 'void') return send(204, undefined);
      return send(200, rows[0]?.v ?? null);
    } catch (e) {
      const err = e as { code?: string; message?: string; detail?: string; hint?: string };
      return send(statusFor(err.code ?? '', role), { code: err.code ?? null, message: err.message ?? String(e), details: err.detail ?? null, hint: err.hint ?? null });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end({ timeout: 1 });
    },
  };
}

/** PostgREST's table of SQLSTATE → HTTP status (docs: "Errors", "HTTP status codes"). */
function statusFor(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403;
  if (code === '23505' || code === '23503') return 409;
  if (code === '42883' || code === '42P01') return 404;
  if (code === 'P0001') return 400;
  if (/^(08|53)/.test(code)) return 503;
  if (/^(09|25|2D|38|39|3B|40|54|55|57|58|F0|HV|P0|XX)/.test(code)) return 500;
  if (/^(0L|0P|28)/.test(code)) return 403;
  return 400;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Signs a JWT like Supabase Auth (HS256, the legacy JWT secret), for tests. */
export async function signJwt(secret: string, claims: Record<string, unknown>, expiresIn: string | number = '1h'): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(expiresIn).sign(key);
}
