/**
 * The app's edgejobs wiring, made once per server process: the registry, the store the
 * environment points at, the authenticator and the route handlers.
 */
import { createAuthenticator } from '../../lib/http/auth.ts';
import { createJobRoutes, type JobRoutes } from '../../lib/http/routes.ts';
import { storesFromEnv } from '../../lib/http/stores.ts';
import { createConsoleLogger } from '../../lib/logger.ts';
import { demoRegistry } from './demo-jobs.ts';

const cache = globalThis as typeof globalThis & { __edgejobsRoutes?: JobRoutes };

function jwksUrl(): string | undefined {
  const url = process.env.SUPABASE_URL;
  return url ? `${url.replace(/\/$/, '')}/auth/v1/.well-known/jwks.json` : undefined;
}

/** The route handlers, built on first use (so `next build` needs no database). */
export function routes(): JobRoutes {
  cache.__edgejobsRoutes ??= createJobRoutes({
    registry: demoRegistry,
    stores: storesFromEnv(process.env),
    auth: createAuthenticator({
      jwtSecret: process.env.SUPABASE_JWT_SECRET || undefined,
      jwksUrl: jwksUrl(),
      serviceKeys: [process.env.SUPABASE_SECRET_KEY, process.env.SUPABASE_SERVICE_ROLE_KEY].filter((k): k is string => Boolean(k)),
      guestSecret: process.env.EDGEJOBS_GUEST_SECRET || undefined,
    }),
    logger: createConsoleLogger('warn'),
  });
  return cache.__edgejobsRoutes;
}
