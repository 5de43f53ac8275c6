/**
 * The app's edgejobs wiring, made once per server process: the registry, the store the
 * environment points at, the authenticator and the route handlers.
 */
import { after } from 'next/server';
import { createAuthenticator } from '../../lib/http/auth.ts';
import { createKicker } from '../../lib/http/kick.ts';
import { createJobRoutes, type JobRoutes } from '../../lib/http/routes.ts';
import { storesFromEnv, type StoreProvider } from '../../lib/http/stores.ts';
import { drainRoute } from '../../lib/http/drain-route.ts';
import { createConsoleLogger } from '../../lib/logger.ts';
import { demoRegistry } from './demo-jobs.ts';

const cache = globalThis as typeof globalThis & {
  __edgejobsStores?: StoreProvider;
  __edgejobsRoutes?: JobRoutes;
  __edgejobsDrain?: (request: Request) => Promise<Response>;
};

/** One store provider (one connection pool) per server process, shared by every route. */
function stores(): StoreProvider {
  cache.__edgejobsStores ??= storesFromEnv(process.env);
  return cache.__edgejobsStores;
}

function jwksUrl(): string | undefined {
  const url = process.env.SUPABASE_URL;
  return url ? `${url.replace(/\/$/, '')}/auth/v1/.well-known/jwks.json` : undefined;
}

/** Who is calling, from the environment's keys: shared by the routes and the bench floor. */
export function authenticator() {
  return createAuthenticator({
    jwtSecret: process.env.SUPABASE_JWT_SECRET || undefined,
    jwksUrl: jwksUrl(),
    serviceKeys: [process.env.SUPABASE_SECRET_KEY, process.env.SUPABASE_SERVICE_ROLE_KEY].filter((k): k is string => Boolean(k)),
    guestSecret: process.env.EDGEJOBS_GUEST_SECRET || undefined,
  });
}

/** The route handlers, built on first use (so `next build` needs no database). */
export function routes(): JobRoutes {
  cache.__edgejobsRoutes ??= build();
  return cache.__edgejobsRoutes;
}

function build(): JobRoutes {
  const provider = stores();
  const url = process.env.SUPABASE_URL;
  const secret = process.env.EDGEJOBS_WORKER_SECRET;
  // With a Supabase project and the worker secret, an enqueue starts the process-jobs function
  // at once (unless the database already kicked it, or a drain is running).
  const kick = url && secret
    ? createKicker({ store: provider.service, functionsUrl: `${url.replace(/\/$/, '')}/functions/v1`, secret, logger: createConsoleLogger('warn') })
    : undefined;
  return createJobRoutes({
    registry: demoRegistry,
    stores: provider,
    kick,
    afterResponse: (task) => after(task),
    auth: authenticator(),
    logger: createConsoleLogger('warn'),
  });
}

/** The Vercel Cron drain route's handler, on the same store as the other routes. */
export function cronDrain(): (request: Request) => Promise<Response> {
  cache.__edgejobsDrain ??= drainRoute({
    store: stores().service,
    registry: demoRegistry,
    secret: process.env.CRON_SECRET,
    drainMs: process.env.EDGEJOBS_CRON_DRAIN_MS ? Number(process.env.EDGEJOBS_CRON_DRAIN_MS) : 270_000,
    logger: createConsoleLogger('warn'),
  });
  return cache.__edgejobsDrain;
}
