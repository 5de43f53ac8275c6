// GET /api/jobs/stats: counts per queue and type, per type history (the service key, or an operator).
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const GET = jobs.stats;
