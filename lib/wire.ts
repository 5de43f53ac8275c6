/** The JSON shapes of the HTTP API (the wire), shared by the route handlers (server) and the clients (browser). */
import type { JobStatus } from './states.ts';

/** `GET /api/jobs/:id`: a job as its owner sees it. */
export interface JobView {
  id: string;
  type: string;
  queue: string;
  status: JobStatus;
  /** Whatever the handler last reported with ctx.progress() (any JSON), or null. */
  progress: unknown;
  /** The handler's return value once completed, else null. */
  result: unknown;
  /** The last failure: code and message (no stack), or null. */
  error: { code: string; message: string } | null;
  attempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  runAt: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The job whose handler enqueued this one (ctx.enqueue), or null. */
  parentId: string | null;
  /** The follow-up jobs this one's handler enqueued (written with its completion), in the order it enqueued them. */
  children: Array<{ id: string; type: string; status: JobStatus; statusUrl: string }>;
  /** The private Realtime topic this job's changes are broadcast on (signed-in users only). */
  realtimeTopic: string | null;
}

/** `POST /api/jobs` → 202. */
export interface AcceptedJob {
  id: string;
  type: string;
  status: JobStatus;
  statusUrl: string;
  createdAt: string;
  /** True when an idempotency key matched an existing job: nothing new was stored. */
  replayed: boolean;
}

/** Every error answer: `{ error: ApiErrorBody }`. */
export interface ApiErrorBody {
  code: string;
  message: string;
  issues?: Array<{ path: string; message: string; code: string }>;
}
