// POST /api/jobs/bulk: cancel, redrive or delete jobs by filter, a dry run first (the service key, or an operator).
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const POST = jobs.bulk;
