// GET /api/jobs/:id: status (ETag / 304, Retry-After). DELETE /api/jobs/:id: cancel.
import { routes } from '../../../_server/edgejobs.ts';

export const runtime = 'nodejs';
export const maxDuration = 10;
export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

export function GET(request: Request, context: Context): Promise<Response> {
  return routes().status(request, context);
}

export function DELETE(request: Request, context: Context): Promise<Response> {
  return routes().cancel(request, context);
}
