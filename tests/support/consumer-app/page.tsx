'use client';
// The consumer app's page: submit a job, follow it with useJob over Realtime (polling as the
// fallback), show its progress as it moves and its result.
import { useEffect, useMemo, useState } from 'react';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { submitJob } from 'edgejobs/client';
import { useJob } from 'edgejobs/react';

declare global {
  interface Window { consumer?: { join(topic: string, token: string): Promise<string> } }
}

const SUPABASE_URL = process.env.NEXT_PUBLIC_SUPABASE_URL!;
const SUPABASE_KEY = process.env.NEXT_PUBLIC_SUPABASE_PUBLISHABLE_KEY!;

/** The signed-in user's token (this app's sign-in is out of scope: the page is given one). */
function useToken(): string | null {
  const [token, setToken] = useState<string | null>(null);
  useEffect(() => setToken(window.localStorage.getItem('token')), []);
  return token;
}

export default function Home() {
  const token = useToken();
  const supabase = useMemo<SupabaseClient | null>(
    () => (token ? createClient(SUPABASE_URL, SUPABASE_KEY, { accessToken: async () => token }) : null),
    [token],
  );
  const headers = useMemo(() => (token ? { Authorization: `Bearer ${token}` } : undefined), [token]);
  const [jobId, setJobId] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const job = useJob(jobId, { ...(headers ? { headers } : {}), ...(supabase ? { supabase } : {}) });
  const [history, setHistory] = useState<string[]>([]);
  const progress = job.progress as { step?: number; of?: number } | null;
  useEffect(() => {
    if (progress?.step) setHistory((h) => (h.at(-1) === `${progress.step}/${progress.of}` ? h : [...h, `${progress.step}/${progress.of}`]));
  }, [progress?.step, progress?.of]);

  // For the test: join a topic with another user's token, as an attacker's page would.
  useEffect(() => {
    window.consumer = {
      join: async (topic, otherToken) => {
        const client = createClient(SUPABASE_URL, SUPABASE_KEY, { accessToken: async () => otherToken });
        await client.realtime.setAuth();
        return new Promise((resolve) => {
          client.channel(topic, { config: { private: true } }).subscribe((status, error) => {
            if (status !== 'CLOSED') resolve(error ? `${status}: ${error.message}` : status);
          });
        });
      },
    };
  }, []);

  async function start() {
    setSubmitError(null);
    setHistory([]);
    try {
      const accepted = await submitJob('report.count', { steps: 6, stepMs: 500 }, headers ? { headers } : {});
      setJobId(accepted.id);
    } catch (error) {
      setSubmitError((error as Error).message);
    }
  }

  return (
    <main>
      <h1>Reports</h1>
      <button onClick={start} disabled={!token}>Count to six</button>
      {submitError && <p role="alert">{submitError}</p>}
      {jobId && (
        <section aria-label="job">
          <p>Status: <output data-testid="status">{job.status ?? 'loading'}</output></p>
          <p>Live: <output data-testid="live">{job.isLive ? 'yes' : 'no'}</output></p>
          <progress data-testid="progress" value={progress?.step ?? 0} max={progress?.of ?? 6} />
          <ol data-testid="history">{history.map((h) => <li key={h}>{h}</li>)}</ol>
          {job.isDone && <pre data-testid="result">{JSON.stringify(job.result)}</pre>}
          {job.error && <p role="alert">{job.error.message}</p>}
        </section>
      )}
    </main>
  );
}
