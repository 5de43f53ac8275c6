// The operator console at /admin/jobs: queues, jobs, schedules, worker runs, bulk actions, audit.
// Sign in with the service key, or as a Supabase user whose JWT has app_metadata.edgejobs_operator.
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const { GET, POST } = jobs.console;
