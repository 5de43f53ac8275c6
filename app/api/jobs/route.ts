// POST /api/jobs: enqueue any registered job type → 202. GET /api/jobs: the caller's jobs.
import { jobs } from '../../_server/edgejobs.ts';

export const runtime = 'nodejs';
// Enqueue is one database round trip; 10 s is room for a cold start, not for work.
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const POST = jobs.enqueue;

export const GET = jobs.list;
