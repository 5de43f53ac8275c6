// GET /api/jobs/health: 200 when the queue is healthy, 503 when not (for uptime monitors).
import { routes } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return routes().health(request);
}
