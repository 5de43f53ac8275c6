/**
 * Stand-in for Supabase Realtime (which needs its Elixir server and logical replication, neither
 * of which runs here), at the protocol level, against the real database:
 *
 * - **The websocket**: `ws://host/realtime/v1/websocket?apikey=…&vsn=2.0.0` (or 1.0.0), Phoenix
 *   channel messages as realtime-js sends them (`[join_ref, ref, topic, event, payload]` in 2.0.0,
 *   objects in 1.0.0): `phx_join`, `phx_leave`, `access_token`, the `phoenix` heartbeat, each
 *   answered with `phx_reply` as Realtime answers it.
 * - **Joining a private channel**: the JWT (the join's `access_token`, else the `apikey`) is
 *   verified with the project's JWT secret (HS256, as the project's legacy secret), then, as
 *   Realtime's `Authorization` does, in one transaction on the real database: insert a broadcast
 *   row for the topic into `realtime.messages`, `set_config('role', <the JWT's role>)`,
 *   `realtime.topic`, `request.jwt.claims`, select that row back (the RLS policies of
 *   `realtime.messages` decide, evaluated as that user), roll back. Admitted: `{status: 'ok'}`;
 *   refused: `{status: 'error', response: {reason: 'Unauthorized: …'}}` (the client's
 *   CHANNEL_ERROR). A public channel is admitted with a valid JWT.
 * - **Broadcast from the database**: the rows `realtime.send()` writes to `realtime.messages` are
 *   read from the table (Realtime reads them from the WAL; this polls every `pollMs` and delivers
 *   each row once, in insertion order), and sent to the sockets joined to that topic with the same
 *   privacy as `{type: 'broadcast', event, payload}`.
 *
 * Not reproduced: Presence, Postgres Changes, client-sent broadcasts (and the write policy),
 * re-authorising on `access_token` (the new token is only verified), rate limits, the binary
 * broadcast frames (JSON text frames only, which realtime-js also decodes), asymmetric JWT keys.
 */
import { createServer, type Server } from 'node:http';
import { jwtVerify, type JWTPayload } from 'jose';
import postgres from 'postgres';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RealtimeJoin { topic: string; sub: string | null; role: string | null; private: boolean; admitted: boolean; reason?: string }
export interface RealtimeDelivery { topic: string; event: string; payload: unknown; sockets: number }

export interface RealtimeStandIn {
  /** The project URL to give supabase-js (`createClient(url, key)`): Realtime is under /realtime/v1. */
  url: string;
  joins: RealtimeJoin[];
  deliveries: RealtimeDelivery[];
  stop(): Promise<void>;
}

interface Subscription { topic: string; joinRef: string | null; private: boolean }
interface Client { socket: WebSocket; vsn: '1.0.0' | '2.0.0'; subs: Map<string, Subscription> }
type Message = { join_ref: string | null; ref: string | null; topic: string; event: string; payload: Record<string, unknown> };

const ROLLBACK = Symbol('rollback');

export async function startRealtime(o: { databaseUrl: string; jwtSecret: string; pollMs?: number }): Promise<RealtimeStandIn> {
  const sql = postgres(o.databaseUrl, { max: 3, onnotice: () => {} });
  const key = new TextEncoder().encode(o.jwtSecret);
  const joins: RealtimeJoin[] = [];
  const deliveries: RealtimeDelivery[] = [];
  const clients = new Set<Client>();

  const verify = async (token: unknown): Promise<JWTPayload> => {
    if (typeof token !== 'string' || token === '') throw new Error('no JWT');
    return (await jwtVerify(token, key, { algorithms: ['HS256'] })).payload;
  };

  /** Realtime's read check: can this user select a broadcast row of this topic? */
  const mayRead = async (topic: string, claims: JWTPayload): Promise<boolean> => {
    let admitted = false;
    await sql.begin(async (tx) => {
      const [probe] = await tx<{ id: string }[]>`insert into realtime.messages (topic, extension) values (${topic}, 'broadcast') returning id`;
      await tx`select set_config('role', ${String(claims.role ?? 'anon')}, true), set_config('realtime.topic', ${topic}, true),
                      set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('request.headers', '{}', true)`;
      const rows = await tx`select id from realtime.messages where topic = ${topic} and extension = 'broadcast' and id = ${probe!.id}`;
      admitted = rows.length === 1;
      throw ROLLBACK;
    }).catch((error: unknown) => {
      if (error !== ROLLBACK) throw error;
    });
    return admitted;
  };

  const send = (client: Client, m: Message) => {
    if (client.socket.readyState !== client.socket.OPEN) return;
    client.socket.send(JSON.stringify(client.vsn === '2.0.0' ? [m.join_ref, m.ref, m.topic, m.event, m.payload] : m));
  };
  const reply = (client: Client, m: Message, status: 'ok' | 'error', response: Record<string, unknown>) =>
    send(client, { join_ref: m.join_ref, ref: m.ref, topic: m.topic, event: 'phx_reply', payload: { status, response } });

  async function handle(client: Client, m: Message, apikey: string) {
    if (m.topic === 'phoenix' && m.event === 'heartbeat') return reply(client, m, 'ok', {});
    const topic = m.topic.replace(/^realtime:/, '');
    switch (m.event) {
      case 'phx_join': {
        const config = (m.payload.config ?? {}) as { private?: boolean };
        const isPrivate = config.private === true;
        let claims: JWTPayload;
        try {
          claims = await verify(m.payload.access_token ?? apikey);
        } catch (error) {
          joins.push({ topic, sub: null, role: null, private: isPrivate, admitted: false, reason: 'invalid JWT' });
          return reply(client, m, 'error', { reason: `InvalidJWTToken: ${(error as Error).message}` });
        }
        const entry: RealtimeJoin = { topic, sub: typeof claims.sub === 'string' ? claims.sub : null, role: String(claims.role ?? ''), private: isPrivate, admitted: true };
        if (isPrivate && !(await mayRead(topic, claims))) {
          entry.admitted = false;
          entry.reason = `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}`;
          joins.push(entry);
          return reply(client, m, 'error', { reason: entry.reason });
        }
        joins.push(entry);
        client.subs.set(m.topic, { topic, joinRef: m.join_ref, private: isPrivate });
        return reply(client, m, 'ok', { postgres_changes: [] });
      }
      case 'phx_leave':
        client.subs.delete(m.topic);
        return reply(client, m, 'ok', {});
      case 'access_token':
        try {
          await verify(m.payload.access_token);
        } catch {
          client.subs.delete(m.topic);
          return send(client, { join_ref: m.join_ref, ref: null, topic: m.topic, event: 'phx_close', payload: {} });
        }
        return undefined;
      default:
        return undefined; // client broadcasts, presence: not reproduced
    }
  }

  const http: Server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const apikey = url.searchParams.get('apikey') ?? '';
    if (url.pathname !== '/realtime/v1/websocket' || apikey === '') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { socket: ws, vsn: url.searchParams.get('vsn') === '1.0.0' ? '1.0.0' : '2.0.0', subs: new Map() };
      clients.add(client);
      // One message at a time per socket, in order, as a channel process handles them.
      let queue = Promise.resolve();
      ws.on('message', (data, isBinary) => {
        if (isBinary) return; // binary broadcast pushes: not reproduced
        let m: Message;
        try {
          const raw = JSON.parse(String(data)) as unknown;
          if (Array.isArray(raw)) {
            const [join_ref, ref, topic, event, payload] = raw as [string | null, string | null, string, string, Record<string, unknown>];
            m = { join_ref, ref, topic, event, payload: payload ?? {} };
          } else {
            m = raw as Message;
          }
        } catch {
          return;
        }
        queue = queue.then(() => handle(client, m, apikey)).catch(() => ws.close(1011));
      });
      ws.on('close', () => clients.delete(client));
    });
  });

  // Broadcasts: every new broadcast row, once, to the sockets joined to its topic.
  const seen = new Set<string>();
  let stopped = false;
  const since = (await sql<{ now: Date }[]>`select now()::timestamp as now`)[0]!.now;
  const poll = async () => {
    while (!stopped) {
      try {
        const rows = await sql<{ id: string; topic: string; event: string; payload: unknown; private: boolean }[]>`
          select id, topic, event, payload, coalesce(private, false) as private from realtime.messages
          where extension = 'broadcast' and event is not null and inserted_at >= ${since}::timestamp - interval '1 second'
            and inserted_at > now()::timestamp - interval '30 seconds'
          order by inserted_at, id`;
        for (const row of rows) {
          if (seen.has(row.id)) continue;
          seen.add(row.id);
          let sockets = 0;
          for (const client of clients) {
            for (const [fullTopic, sub] of client.subs) {
              if (sub.topic !== row.topic || sub.private !== row.private) continue;
              send(client, { join_ref: sub.joinRef, ref: null, topic: fullTopic, event: 'broadcast', payload: { type: 'broadcast', event: row.event, payload: row.payload } });
              sockets++;
            }
          }
          deliveries.push({ topic: row.topic, event: row.event, payload: row.payload, sockets });
        }
      } catch {
        // the database restarting or the test ending: look again
      }
      await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
    }
  };
  const polling = poll();

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    joins,
    deliveries,
    async stop() {
      stopped = true;
      for (const client of clients) client.socket.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await polling;
      await sql.end({ timeout: 1 });
    },
  };
}
