'use client';
import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { useJob } from 'edgejobs/react';
import { ApiError, listJobs, submitJob, type JobView } from 'edgejobs/client';

type DemoType = 'report.generate' | 'csv.import' | 'flaky.task';

const TYPES: Array<{ type: DemoType; label: string; hint: string }> = [
  { type: 'report.generate', label: 'Report', hint: 'Statistics over your numbers, computed in ten steps.' },
  { type: 'csv.import', label: 'CSV import', hint: 'Imports in chunks with a checkpoint after each; a long import spans several worker runs.' },
  { type: 'flaky.task', label: 'Flaky task', hint: 'Fails its first N attempts, then succeeds (3 attempts at most; 5 fails for good at once).' },
];

function sampleCsv(rows: number): string {
  const lines = ['sku,quantity,price'];
  for (let i = 1; i <= rows; i++) lines.push(`SKU-${String(i).padStart(4, '0')},${(i * 7) % 13 + 1},${((i * 37) % 500) / 10 + 1}`);
  return lines.join('\n');
}

const labelOf = (type: string) => TYPES.find((t) => t.type === type)?.label ?? type;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const time = (iso: string) => new Date(iso).toLocaleTimeString();

/** The numbers field as numbers, or the first word that is not one, in the user's words. */
function parseNumbers(text: string): number[] {
  const words = text.split(/[\s,;]+/).filter(Boolean);
  const bad = words.find((w) => !Number.isFinite(Number(w)));
  if (bad !== undefined) throw new Error(`“${bad}” is not a number: write numbers separated by commas, like 12, 7, 3.5`);
  return words.map(Number);
}

/** A result as a table: top-level fields by name, nested values as indented JSON. */
function Result({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return <pre data-testid="job-result">{JSON.stringify(value, null, 2)}</pre>;
  }
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
  return (
    <table className="result" data-testid="job-result">
      <tbody>
        {entries.map(([key, v]) => (
          <tr key={key} data-key={key}>
            <th scope="row">{key}</th>
            <td>{v !== null && typeof v === 'object' ? <pre>{JSON.stringify(v, null, 2)}</pre> : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The signed-in user's (or guest's) jobs, newest first, with their status; survives a reload. */
function MyJobs({ selected, onSelect, refreshKey }: { selected: string | null; onSelect: (id: string) => void; refreshKey: number }) {
  const [jobs, setJobs] = useState<JobView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [extended, setExtended] = useState(false);
  // A refresh reads the first page again and keeps the older pages already shown.
  const load = useCallback(async (more: string | null) => {
    try {
      const page = await listJobs({ limit: 10, cursor: more });
      setJobs((old) => {
        const fresh = new Set(page.jobs.map((j) => j.id));
        return more ? [...old, ...page.jobs.filter((j) => !old.some((o) => o.id === j.id))] : [...page.jobs, ...old.filter((o) => !fresh.has(o.id))];
      });
      if (more) setExtended(true);
      if (more || !extended) setCursor(page.nextCursor);
      setFailed(null);
    } catch (error) {
      setFailed((error as Error).message);
    }
  }, [extended]);
  useEffect(() => {
    void load(null);
  }, [load, refreshKey]);
  // Live: while a listed job is not done, look again every 2 s.
  const live = jobs.some((j) => !TERMINAL.has(j.status));
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(() => void load(null), 2_000);
    return () => clearInterval(timer);
  }, [live, load]);
  if (jobs.length === 0 && !failed) return null;
  return (
    <fieldset data-testid="my-jobs">
      <legend>Your jobs</legend>
      {failed && <p className="error">{failed}</p>}
      <ul className="jobs">
        {jobs.map((j) => (
          <li key={j.id}>
            <button type="button" aria-current={j.id === selected} data-testid="my-job" data-id={j.id} onClick={() => onSelect(j.id)}>
              <span>{labelOf(j.type)}</span>
              <span className="status" data-status={j.status}>{j.status}</span>
              <span className="hint">{time(j.createdAt)}</span>
            </button>
          </li>
        ))}
      </ul>
      {cursor && <button type="button" data-testid="more-jobs" onClick={() => void load(cursor)}>More</button>}
    </fieldset>
  );
}

export function Demo() {
  const [type, setType] = useState<DemoType>('report.generate');
  const [title, setTitle] = useState('Quarterly sales');
  const [numbers, setNumbers] = useState('12, 7, 3, 21, 9, 14, 30, 5');
  const [csv, setCsv] = useState(() => sampleCsv(120));
  const [failTimes, setFailTimes] = useState('1');
  const [jobId, setJobId] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<ApiError | Error | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [listKey, setListKey] = useState(0);
  const job = useJob(jobId);

  // The job in the address (?job=…) is shown again after a reload.
  useEffect(() => {
    const id = new URLSearchParams(window.location.search).get('job');
    if (id) setJobId(id);
  }, []);
  const select = (id: string) => {
    setJobId(id);
    setSubmitError(null);
    window.history.replaceState(null, '', `?job=${encodeURIComponent(id)}`);
  };
  const pick = (next: DemoType) => {
    setType(next);
    setSubmitError(null); // an error about another form's input is stale now
  };

  function input(): unknown {
    if (type === 'report.generate') return { title, rows: parseNumbers(numbers) };
    if (type === 'csv.import') return { csv };
    return { failTimes: Number(failTimes) };
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSubmitting(true);
    setSubmitError(null);
    try {
      const accepted = await submitJob(type, input());
      select(accepted.id);
      setListKey((k) => k + 1);
    } catch (error) {
      setSubmitError(error as Error);
    } finally {
      setSubmitting(false);
    }
  }

  const progress = (job.progress ?? null) as { percent?: number; message?: string } | null;
  const percent = job.status === 'completed' ? 100 : Math.max(0, Math.min(100, progress?.percent ?? 0));

  return (
    <>
      <form onSubmit={onSubmit}>
        <fieldset>
          <legend>1. Pick a job</legend>
          <div className="types" role="group" aria-label="Job type">
            {TYPES.map((t) => (
              <button key={t.type} type="button" aria-pressed={type === t.type} data-testid={`type-${t.type}`} onClick={() => pick(t.type)}>
                {t.label}
              </button>
            ))}
          </div>
          <p className="hint">{TYPES.find((t) => t.type === type)?.hint}</p>
        </fieldset>
        <fieldset>
          <legend>2. Fill in its input</legend>
          {type === 'report.generate' && (
            <>
              <label htmlFor="title">Title</label>
              <input id="title" data-testid="report-title" value={title} onChange={(e) => setTitle(e.target.value)} />
              <label htmlFor="numbers">Numbers</label>
              <textarea id="numbers" data-testid="report-rows" value={numbers} onChange={(e) => setNumbers(e.target.value)} />
            </>
          )}
          {type === 'csv.import' && (
            <>
              <label htmlFor="csv">CSV (header row first)</label>
              <textarea id="csv" data-testid="csv-text" value={csv} onChange={(e) => setCsv(e.target.value)} rows={8} />
            </>
          )}
          {type === 'flaky.task' && (
            <>
              <label htmlFor="fail">Fail the first N attempts</label>
              <input id="fail" data-testid="flaky-fail-times" type="number" min={0} max={5} value={failTimes} onChange={(e) => setFailTimes(e.target.value)} />
            </>
          )}
        </fieldset>
        <button className="primary" type="submit" data-testid="submit" disabled={submitting}>
          {submitting ? 'Submitting…' : '3. Submit'}
        </button>
      </form>

      {submitError && (
        <div className="error" role="alert" data-testid="submit-error">
          <p>{submitError.message}</p>
          {submitError instanceof ApiError && submitError.issues && (
            <ul className="issues">
              {submitError.issues.map((issue) => <li key={`${issue.path}:${issue.message}`}><code>{issue.path || '(input)'}</code>: {issue.message}</li>)}
            </ul>
          )}
        </div>
      )}

      {jobId && (
        <fieldset data-testid="job">
          <legend>
            <span data-testid="job-type">{job.job ? labelOf(job.job.type) : 'Job'}</span> <code>{jobId}</code>
          </legend>
          <p>
            Status: <span className="status" data-testid="job-status" data-status={job.status ?? 'loading'}>{job.status ?? 'loading'}</span>
            {job.job && <> · attempt {job.job.attempts} of {job.job.maxAttempts}</>}
            {job.job?.cancelRequested && !job.isDone && <> · cancel requested</>}
          </p>
          <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} data-testid="progress">
            <div style={{ width: `${percent}%` }} />
          </div>
          <p className="hint" data-testid="progress-message">{progress?.message ?? (job.status === 'queued' ? 'waiting for a worker…' : '')}</p>
          {retry(job.job)}
          {!job.isDone && job.status && (
            <button type="button" data-testid="cancel" onClick={() => void job.cancel().catch((e: Error) => setSubmitError(e))}>Cancel</button>
          )}
          {job.status === 'completed' && <Result value={job.result} />}
          {(job.status === 'failed' || job.status === 'cancelled') && job.job?.error && (
            <p className="error" data-testid="job-error"><code>{job.job.error.code}</code>: {job.job.error.message}</p>
          )}
        </fieldset>
      )}

      <MyJobs selected={jobId} onSelect={select} refreshKey={listKey} />
    </>
  );
}

/** A job waiting for its retry: why, and when the next attempt is due. */
function retry(job: JobView | null): ReactNode {
  if (!job || job.status !== 'queued' || job.attempts === 0 || !job.error) return null;
  return (
    <p className="retry" data-testid="job-retry">
      Attempt {job.attempts} failed ({job.error.message}); the next one is due at {time(job.runAt)}.
    </p>
  );
}
