/**
 * The background half of the pg_net stand-in (see supabase-services.sql): takes committed
 * requests from net.http_request_queue and really sends them with fetch, storing each answer in
 * net._http_response, as pg_net's worker does.
 */
import postgres from 'postgres';

export interface PgNetWorker {
  /** Requests sent so far. */
  readonly sent: Array<{ id: number; url: string; headers: Record<string, string>; body: unknown; status: number | null }>;
  stop(): Promise<void>;
}

export function startPgNetWorker(databaseUrl: string, { intervalMs = 50 } = {}): PgNetWorker {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const sent: PgNetWorker['sent'] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql`delete from net.http_request_queue where id in (select id from net.http_request_queue order by id limit 20 for update skip locked)
        returning id, method, url, headers, convert_from(body, 'UTF8') as body, timeout_milliseconds`.catch(() => []);
      for (const r of rows) {
        const headers = r.headers as Record<string, string>;
        let status: number | null = null;
        let content = '';
        let error: string | null = null;
        try {
          const response = await fetch(r.url, { method: r.method, headers, body: r.body, signal: AbortSignal.timeout(r.timeout_milliseconds) });
          status = response.status;
          content = await response.text();
        } catch (e) {
          error = (e as Error).message;
        }
        sent.push({ id: Number(r.id), url: r.url, headers, body: JSON.parse(r.body ?? 'null'), status });
        await sql`insert into net._http_response (id, status_code, content, timed_out, error_msg) values (${r.id}, ${status}, ${content}, false, ${error})`.catch(() => {});
      }
      if (rows.length === 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    sent,
    async stop() {
      stopped = true;
      await loop;
      await sql.end({ timeout: 1 });
    },
  };
}
