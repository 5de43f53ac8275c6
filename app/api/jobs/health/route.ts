// GET /api/jobs/health: 200 when the queue is healthy, 503 when not (for uptime monitors).
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const GET = jobs.health;
