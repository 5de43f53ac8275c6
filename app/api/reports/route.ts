// POST /api/reports: a typed route for one job type; the body is the report's input → 202.
import { jobs } from '../../_server/edgejobs.ts';
import { generateReport } from '../../_server/demo-jobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const POST = jobs.enqueueRoute(generateReport);
