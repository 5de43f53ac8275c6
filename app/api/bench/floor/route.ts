// POST /api/bench/floor: the enqueue route without the database, for `npm run bench` only
// (EDGEJOBS_BENCH_FLOOR=1); 404 otherwise.
import { floorRoutes } from '../../../../bench/floor-route.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  const routes = floorRoutes();
  if (!routes) return Promise.resolve(Response.json({ error: { code: 'job_not_found', message: 'not found' } }, { status: 404 }));
  return routes.enqueue(request);
}
