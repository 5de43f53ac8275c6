// GET /api/jobs/:id: status (ETag / 304, Retry-After). DELETE /api/jobs/:id: cancel.
import { jobs } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export const GET = jobs.status;
export const DELETE = jobs.cancel;
