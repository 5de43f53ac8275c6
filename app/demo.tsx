'use client';
import { useState, type FormEvent } from 'react';
import { useJob } from 'edgejobs/react';
import { ApiError, submitJob } from 'edgejobs/client';

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

export function Demo() {
  const [type, setType] = useState<DemoType>('report.generate');
  const [title, setTitle] = useState('Quarterly sales');
  const [numbers, setNumbers] = useState('12, 7, 3, 21, 9, 14, 30, 5');
  const [csv, setCsv] = useState(() => sampleCsv(120));
  const [failTimes, setFailTimes] = useState('1');
  const [jobId, setJobId] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<ApiError | Error | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const job = useJob(jobId);

  function input(): unknown {
    if (type === 'report.generate') {
      return { title, rows: numbers.split(/[\s,;]+/).filter(Boolean).map(Number) };
    }
    if (type === 'csv.import') return { csv };
    return { failTimes: Number(failTimes) };
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSubmitting(true);
    setSubmitError(null);
    try {
      const accepted = await submitJob(type, input());
      setJobId(accepted.id);
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
              <button key={t.type} type="button" aria-pressed={type === t.type} data-testid={`type-${t.type}`} onClick={() => setType(t.type)}>
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
          <legend>Job <code>{jobId}</code></legend>
          <p>
            Status: <span className="status" data-testid="job-status" data-status={job.status ?? 'loading'}>{job.status ?? 'loading'}</span>
            {job.job && <> · attempt {job.job.attempts} of {job.job.maxAttempts}</>}
            {job.job?.cancelRequested && !job.isDone && <> · cancel requested</>}
          </p>
          <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} data-testid="progress">
            <div style={{ width: `${percent}%` }} />
          </div>
          <p className="hint" data-testid="progress-message">{progress?.message ?? (job.status === 'queued' ? 'waiting for a worker…' : '')}</p>
          {!job.isDone && job.status && (
            <button type="button" data-testid="cancel" onClick={() => void job.cancel().catch((e: Error) => setSubmitError(e))}>Cancel</button>
          )}
          {job.status === 'completed' && <pre data-testid="job-result">{JSON.stringify(job.result, null, 2)}</pre>}
          {job.error && <p className="error" data-testid="job-error"><code>{job.error.code}</code>: {job.error.message}</p>}
        </fieldset>
      )}
    </>
  );
}
