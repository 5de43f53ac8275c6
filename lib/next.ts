/**
 * edgejobs/next: the routes of a Next.js app (App Router, Node.js runtime). One call wires the
 * store the environment points at, the authenticator, the kick and the route handlers, built on
 * first use (so `next build` needs no database) and shared by every route file of the process:
 *
 *   // app/api/jobs/route.ts
 *   import { nextJobs } from 'edgejobs/next'
 *   import { registry } from '@/jobs'
 *   const jobs = nextJobs({ registry })
 *   export const POST = jobs.enqueue
 *   export const GET = jobs.list
 *
 * The parts (createJobRoutes, createAuthenticator, storesFromEnv, drainRoute, createKicker) are
 * exported for apps that wire their own.
 */
// next/server.js, not next/server: Node's ESM resolver (next has no exports map) needs the file.
import { after } from 'next/server.js';
import { createAuthenticator, type Authenticator } from './http/auth.ts';
import { drainRoute } from './http/drain-route.ts';
import { createKicker } from './http/kick.ts';
import { createJobRoutes, type HealthThresholds, type JobRoutes, type RouteContext, type RouteHandler } from './http/routes.ts';
import { storesFromEnv, type JobsEnv, type StoreProvider } from './http/stores.ts';
import type { AnyJobDefinition, JobRegistry } from './job.ts';
import type { ScheduleDefinition } from './schedules.ts';
import { createConsoleLogger, type Logger } from './logger.ts';
import { createConsole, type ConsoleOptions, type ConsoleRoutes } from './console/index.ts';

export { createAuthenticator, parseCookies, supabaseSessionToken } from './http/auth.ts';
export type { AuthOptions, Authenticator, Caller, UserCaller } from './http/auth.ts';
export { drainRoute } from './http/drain-route.ts';
export type { DrainRouteOptions } from './http/drain-route.ts';
export { createKicker } from './http/kick.ts';
export type { Kicker, KickerOptions } from './http/kick.ts';
export { createJobRoutes } from './http/routes.ts';
export type { HealthThresholds, JobRoutes, JobRoutesOptions, RouteContext, RouteHandler } from './http/routes.ts';
export { postgresStores, storesFromEnv, supabaseStores } from './http/stores.ts';
export type { JobsEnv, StoreProvider } from './http/stores.ts';
export { jsonResponse, toErrorResponse } from './http/errors.ts';
export { createConsole } from './console/index.ts';
export type { ConsoleOptions, ConsoleRoutes } from './console/index.ts';

export interface NextJobsOptions<D extends AnyJobDefinition> {
  registry: JobRegistry<D>;
  /** Where the variables come from. Default process.env (see .env.example for the names). */
  env?: JobsEnv;
  /** Where the job routes are mounted (statusUrl is `${basePath}/${id}`). Default '/api/jobs'. */
  basePath?: string;
  health?: HealthThresholds & { access?: 'public' | 'service' };
  /** The JWT app_metadata claim that makes a signed-in user an operator (stats). Default 'edgejobs_operator'; false: service key only. */
  operatorClaim?: string | false;
  logger?: Logger;
  /** The app's schedules: the cron drain route registers them (see `drain`'s `schedules`). */
  schedules?: ScheduleDefinition[];
  /** The operator console (`console`): where it is mounted (default '/admin/jobs') and what signs its sessions. */
  console?: Pick<ConsoleOptions, 'basePath' | 'sessionSecret' | 'sessionMs' | 'refreshSeconds'>;
}

export interface NextJobs {
  /** POST: enqueue `{ type, input, options? }` → 202. */
  enqueue: RouteHandler;
  /** GET: the caller's jobs. */
  list: RouteHandler;
  /** GET /:id: a job's status. */
  status: RouteHandler;
  /** DELETE /:id: cancel. */
  cancel: RouteHandler;
  /** GET: queue health (200 / 503). */
  health: RouteHandler;
  /** GET: counts per queue and type and per type history, for operators. */
  stats: RouteHandler;
  /** POST: a bulk cancel, redrive or delete by filter, counted first; for operators. */
  bulk: RouteHandler;
  /**
   * The operator console's GET and POST, for a catch-all route at its base path:
   *   // app/admin/jobs/[[...path]]/route.ts
   *   export const { GET, POST } = jobs.console
   * (at `console.basePath`, default /admin/jobs; elsewhere: `jobs.consoleAt('/ops/jobs')`).
   */
  console: ConsoleRoutes;
  /** The console mounted at `basePath` (its route file is `<basePath>/[[...path]]/route.ts`). */
  consoleAt(basePath: string): ConsoleRoutes;
  /** POST for one job type; the body is its input. */
  enqueueRoute(definition: AnyJobDefinition): RouteHandler;
  /** GET: the Vercel Cron drain (Authorization: Bearer $CRON_SECRET). */
  cronDrain: (request: Request) => Promise<Response>;
  /** The route handlers themselves. */
  routes(): JobRoutes;
  /** Who is calling, from the environment's keys. */
  authenticator(): Authenticator;
  /** One store provider (one connection pool) per process. */
  stores(): StoreProvider;
}

const cache = globalThis as typeof globalThis & { __edgejobsNext?: WeakMap<object, NextJobs> };

/**
 * The routes for `registry`, one set per registry and process (route files that call it with the
 * same registry share one connection pool). Reads SUPABASE_URL + SUPABASE_SECRET_KEY (or
 * DATABASE_URL), SUPABASE_JWT_SECRET, EDGEJOBS_GUEST_SECRET, EDGEJOBS_WORKER_SECRET, CRON_SECRET
 * and EDGEJOBS_CRON_DRAIN_MS when first used.
 */
export function nextJobs<D extends AnyJobDefinition>(options: NextJobsOptions<D>): NextJobs {
  cache.__edgejobsNext ??= new WeakMap();
  const known = cache.__edgejobsNext.get(options.registry);
  if (known) return known;
  const made = build(options);
  cache.__edgejobsNext.set(options.registry, made);
  return made;
}

function build<D extends AnyJobDefinition>({ registry, env = process.env, basePath, health, operatorClaim, logger, schedules, console: consoleOptions }: NextJobsOptions<D>): NextJobs {
  const log = logger ?? createConsoleLogger('warn');
  const once = <T>(make: () => T): (() => T) => {
    let value: T | undefined;
    return () => (value ??= make());
  };
  const stores = once(() => storesFromEnv(env));
  const authenticator = once(() => {
    const url = env.SUPABASE_URL;
    return createAuthenticator({
      jwtSecret: env.SUPABASE_JWT_SECRET || undefined,
      jwksUrl: url ? `${url.replace(/\/$/, '')}/auth/v1/.well-known/jwks.json` : undefined,
      serviceKeys: serviceKeys(),
      guestSecret: env.EDGEJOBS_GUEST_SECRET || undefined,
    });
  });
  const routes = once(() => {
    const provider = stores();
    const url = env.SUPABASE_URL;
    const secret = env.EDGEJOBS_WORKER_SECRET;
    // With a Supabase project and the worker secret, an enqueue starts the process-jobs function
    // at once (unless the database already kicked it, or a drain is running).
    const kick = url && secret
      ? createKicker({ store: provider.service, functionsUrl: `${url.replace(/\/$/, '')}/functions/v1`, secret, logger: log })
      : undefined;
    return createJobRoutes({
      registry, stores: provider, kick, auth: authenticator(), logger: log,
      afterResponse: (task) => after(task),
      ...(basePath ? { basePath } : {}), ...(health ? { health } : {}), ...(operatorClaim !== undefined ? { operatorClaim } : {}),
    });
  });
  const cron = once(() => drainRoute({
    store: stores().service,
    registry,
    secret: env.CRON_SECRET,
    drainMs: env.EDGEJOBS_CRON_DRAIN_MS ? Number(env.EDGEJOBS_CRON_DRAIN_MS) : 270_000,
    logger: log,
    ...(schedules ? { invocation: { schedules } } : {}),
  }));
  const serviceKeys = () => [env.SUPABASE_SECRET_KEY, env.SUPABASE_SERVICE_ROLE_KEY].filter((k): k is string => Boolean(k));
  const consoles = new Map<string, ConsoleRoutes>();
  const consoleAt = (path: string): ConsoleRoutes => {
    const known = consoles.get(path);
    if (known) return known;
    if (!/^\/[A-Za-z0-9_\-/]*[A-Za-z0-9_-]$/.test(path)) throw new Error(`console basePath must be a path like /admin/jobs, not ${JSON.stringify(path)}`);
    let made: ConsoleRoutes | undefined;
    const routes = () => (made ??= createConsole({
      store: () => stores().service, auth: authenticator, serviceKeys, logger: log,
      ...(operatorClaim !== undefined ? { operatorClaim } : {}), ...(health ? { health } : {}),
      ...(env.EDGEJOBS_CONSOLE_SECRET ? { sessionSecret: env.EDGEJOBS_CONSOLE_SECRET } : {}),
      ...consoleOptions, basePath: path,
    }));
    const mounted: ConsoleRoutes = { GET: (request) => routes().GET(request), POST: (request) => routes().POST(request) };
    consoles.set(path, mounted);
    return mounted;
  };
  const handler = (name: Exclude<keyof JobRoutes, 'enqueueRoute'>): RouteHandler =>
    (request: Request, context?: RouteContext) => routes()[name](request, context);
  return {
    enqueue: handler('enqueue'),
    list: handler('list'),
    status: handler('status'),
    cancel: handler('cancel'),
    health: handler('health'),
    stats: handler('stats'),
    bulk: handler('bulk'),
    get console() {
      return consoleAt(consoleOptions?.basePath ?? '/admin/jobs');
    },
    consoleAt,
    enqueueRoute: (definition) => {
      let route: RouteHandler | undefined;
      return (request, context) => (route ??= routes().enqueueRoute(definition))(request, context);
    },
    cronDrain: (request) => cron()(request),
    routes,
    authenticator,
    stores,
  };
}
