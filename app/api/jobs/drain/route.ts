// GET /api/jobs/drain: the drain for Vercel Cron (Authorization: Bearer $CRON_SECRET). On Vercel
// Hobby crons run once a day, so this is a fallback; the Edge Function on pg_cron is the main path.
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
// Vercel's limit with Fluid compute is 300 s on Hobby (800 s on Pro); the drain stops 30 s
// earlier (EDGEJOBS_CRON_DRAIN_MS) so its jobs are handed back before the platform stops it.
export const maxDuration = 300;
export const dynamic = 'force-dynamic';

export const GET = jobs.cronDrain;
