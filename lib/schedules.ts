/**
 * Recurring schedules: `defineSchedule()` next to a job type, `registerSchedules()` when the app
 * starts, and `fireDueSchedules()`, which every drain runs as it starts (alongside its first claim) and every 5 s. A fire time is a key,
 * not a timer: the database moves a schedule's next fire time on with a compare-and-set
 * (`fire_schedule`), so each fire time is enqueued exactly once however many drains look at once.
 *
 * Times come from croner: a cron expression (5 fields, or 6 with seconds first) read in an IANA
 * time zone, with its daylight-saving rules: a time inside the spring-forward gap (02:30 on that
 * day in New York) fires once, when the gap ends (03:00); a fixed time inside the repeated autumn
 * hour (01:30) fires once, the first time; a pattern that repeats within that hour
 * (`*\/30 1 * * *`) fires in both. The schedules migration has the SQL side.
 */
import { Cron } from 'croner';
import type { z } from 'zod';
import { EdgeJobsError, coerceError } from './errors.ts';
import type { AnyJobDefinition } from './job.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { EnqueueSpec } from './store.ts';

export type OverlapPolicy = 'skip' | 'queue' | 'allow';
export type CatchUpPolicy = 'latest' | 'none' | 'all';

/** The enqueue options each run gets (as the service role sets them). */
export type ScheduleRunOptions = Pick<EnqueueSpec, 'queue' | 'priority' | 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'keepForMs'>;

/** A schedule as the database stores it (see `register_schedules`). */
export interface ScheduleDefinition {
  name: string;
  cron: string;
  timezone: string;
  type: string;
  input: unknown;
  options: ScheduleRunOptions;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  runOnCreate: boolean;
  enabled: boolean;
}

export interface DefineScheduleOptions<D extends AnyJobDefinition> {
  /** Unique; the runs carry it (jobs.schedule_name). 1-128 of A-Z a-z 0-9 _ . : / - */
  name: string;
  /** 5 fields (minute hour day month weekday), or 6 with seconds first. */
  cron: string;
  /** IANA time zone the expression is read in. Default 'UTC'. */
  timezone?: string;
  /** The job type each run enqueues, and its input (checked against the type's schema now). */
  job: D;
  input: z.input<D['input']>;
  options?: ScheduleRunOptions;
  /**
   * While the previous run of this schedule is not done: 'skip' (default: enqueue nothing while
   * one is queued or processing, what an every-minute ingester needs), 'queue' (at most one run
   * waiting: nothing while one is queued), 'allow' (always enqueue).
   */
  overlap?: OverlapPolicy;
  /**
   * Fire times missed while nothing ran (downtime, a paused project): 'latest' (default: one run
   * for the whole window), 'none' (nothing for it: only a fire time at most two minutes old runs),
   * 'all' (each, up to `catchUpLimit`, the latest ones).
   */
  catchUp?: CatchUpPolicy;
  /** With catchUp 'all': most missed runs at once (1-1000). Default 10. */
  catchUpLimit?: number;
  /** Fire once as soon as the schedule is created, then by the expression. Default false. */
  runOnCreate?: boolean;
  /** False: registered but not firing (retired). Default true. */
  enabled?: boolean;
}

const NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** How often the drains repeat a schedule's warning (it is looked at every few seconds). */
export const SCHEDULE_WARN_EVERY_MS = 600_000;

/** A fire time counts as missed (for catchUp 'none') once it is this old. */
export const MISSED_AFTER_MS = 120_000;

/** Whether `zone` is an IANA time zone this runtime knows. */
function knownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The croner schedule of an expression in a zone; throws `invalid_argument` naming what is wrong. */
function cronOf(expression: string, timezone: string, where: string): Cron {
  if (!knownTimezone(timezone)) throw new EdgeJobsError('invalid_argument', `${where}: unknown time zone ${JSON.stringify(timezone)} (an IANA name such as America/New_York)`);
  if (!/^\S+( \S+){4,5}$/.test(expression)) {
    throw new EdgeJobsError('invalid_argument', `${where}: cron ${JSON.stringify(expression)} must have 5 fields (or 6, seconds first)`);
  }
  try {
    return new Cron(expression, { timezone, paused: true });
  } catch (error) {
    throw new EdgeJobsError('invalid_argument', `${where}: cron ${JSON.stringify(expression)}: ${(error as Error).message}`);
  }
}

/**
 * A recurring schedule for a job type.
 * @example
 * export const dailyBrief = defineSchedule({
 *   name: 'daily-brief', cron: '0 8 * * *', timezone: 'America/New_York',
 *   job: sendBrief, input: { edition: 'morning' },
 * })
 */
export function defineSchedule<D extends AnyJobDefinition>(o: DefineScheduleOptions<D>): ScheduleDefinition {
  if (!NAME.test(o.name)) throw new EdgeJobsError('invalid_argument', `schedule name ${JSON.stringify(o.name)} must be 1-128 of A-Z a-z 0-9 _ . : / -`);
  const where = `schedule ${o.name}`;
  const timezone = o.timezone ?? 'UTC';
  cronOf(o.cron, timezone, where);
  const parsed = o.job.input.safeParse(o.input);
  if (!parsed.success) {
    throw new EdgeJobsError('invalid_argument', `${where}: the input does not match ${o.job.type}'s schema: ${parsed.error.issues.map((i: { path: PropertyKey[]; message: string }) => `${i.path.join('.') || 'input'} ${i.message}`).join('; ')}`);
  }
  const catchUpLimit = o.catchUpLimit ?? 10;
  if (!Number.isInteger(catchUpLimit) || catchUpLimit < 1 || catchUpLimit > 1000) throw new EdgeJobsError('invalid_argument', `${where}: catchUpLimit must be an integer from 1 to 1000`);
  return {
    name: o.name, cron: o.cron, timezone, type: o.job.type, input: o.input, options: o.options ?? {},
    overlap: o.overlap ?? 'skip', catchUp: o.catchUp ?? 'latest', catchUpLimit, runOnCreate: o.runOnCreate ?? false, enabled: o.enabled ?? true,
  };
}

/** A schedule due now, as `get_due_schedules` answers. */
export interface DueSchedule {
  name: string;
  cron: string;
  timezone: string;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  /** null: not computed yet (new, changed or resumed). */
  nextFireAt: Date | null;
}

/**
 * The fire times of a due schedule at `now`, by its catch-up policy, and its next fire time after
 * now. A schedule whose next time was not computed yet fires nothing: its first time comes next.
 * The due time itself (which may be off the expression's grid: a run on create) is a candidate
 * with every time of the expression after it up to now.
 */
export function planFires(s: DueSchedule, now: Date): { fires: Date[]; next: Date | null } {
  const cron = cronOf(s.cron, s.timezone, `schedule ${s.name}`);
  const next = cron.nextRun(now);
  if (s.nextFireAt === null) return { fires: [], next };
  const from = s.nextFireAt;
  const window = s.catchUp === 'all' ? s.catchUpLimit : 1;
  // The latest `window` times of the expression at or before now, after the due time.
  const later = cron.previousRuns(window, new Date(now.getTime() + 1)).filter((t) => t > from).reverse();
  const candidates = [from, ...later].slice(-window);
  const fires = s.catchUp === 'none' ? candidates.filter((t) => now.getTime() - t.getTime() <= MISSED_AFTER_MS) : candidates;
  return { fires, next };
}

/** What the store needs for schedules (both stores have it). */
export interface ScheduleStore {
  getDueSchedules(asOf?: Date): Promise<DueSchedule[]>;
  fireSchedule(name: string, expected: Date | null, fires: Date[], next: Date): Promise<Array<{ fireAt: Date; jobId: string | null }>>;
}

export interface FiredSchedules {
  /** Runs enqueued. */
  enqueued: number;
  /** Fire times the overlap policy skipped. */
  skipped: number;
  /** Schedules another drain fired first (nothing done here). */
  raced: number;
}

/**
 * Fires every due schedule once (the drains call it; call it yourself where no drain runs). A
 * schedule that fails (a job type the database refuses, an expression with no future time) is
 * logged and left for the next look; the others fire.
 */
export async function fireDueSchedules(store: ScheduleStore, options: { now?: Date; logger?: Logger } = {}): Promise<FiredSchedules> {
  const now = options.now ?? new Date();
  const log = options.logger ?? silentLogger;
  const result: FiredSchedules = { enqueued: 0, skipped: 0, raced: 0 };
  for (const s of await store.getDueSchedules(now)) {
    try {
      const { fires, next } = planFires(s, now);
      if (!next) {
        log.warn('schedule has no fire time after now; it stays due until it is changed or deleted', { schedule: s.name, cron: s.cron });
        continue;
      }
      const answers = await store.fireSchedule(s.name, s.nextFireAt, fires, next);
      if (answers.length === 0 && fires.length > 0) result.raced++;
      for (const a of answers) {
        if (a.jobId) result.enqueued++;
        else result.skipped++;
      }
      if (answers.length > 0) log.info('schedule fired', { schedule: s.name, runs: answers.filter((a) => a.jobId).length, skipped: answers.filter((a) => !a.jobId).length });
    } catch (error) {
      log.warn('schedule could not fire; trying again at the next look', { schedule: s.name, error: coerceError(error).message });
    }
  }
  return result;
}

/**
 * The drains' look at schedules: at most one at a time, `tick()` now (awaited at a drain's start),
 * `maybeTick()` in the background when `everyMs` has passed since the last (a busy drain, and an
 * idle one between its waits). A database without the schedules migration is logged once and not
 * asked again by this process.
 */
export function createScheduleTicker(store: ScheduleStore, log: Logger, everyMs: number) {
  // A schedule that cannot fire (an expression croner refuses, a type the database refuses) is
  // looked at every few seconds: its warning is logged once per SCHEDULE_WARN_EVERY_MS.
  const warned = new Map<string, number>();
  const quiet: Logger = {
    debug: (message, fields) => log.debug(message, fields),
    info: (message, fields) => log.info(message, fields),
    error: (message, fields) => log.error(message, fields),
    warn(message, fields) {
      const key = `${message} ${String(fields?.schedule ?? '')}`;
      if (Date.now() - (warned.get(key) ?? -Infinity) < SCHEDULE_WARN_EVERY_MS) return;
      warned.set(key, Date.now());
      log.warn(message, fields);
    },
  };
  let last = 0;
  let inFlight: Promise<FiredSchedules | null> | null = null;
  let off = false;
  let warnedAt = 0;
  /** A look now (or the one in flight); resolves with what it fired, null when it failed. */
  const tick = (): Promise<FiredSchedules | null> => {
    if (off) return Promise.resolve(null);
    if (inFlight) return inFlight;
    last = Date.now();
    inFlight = fireDueSchedules(store, { logger: quiet }).then(
      (fired) => fired,
      (error: unknown) => {
        const e = coerceError(error);
        if (/get_due_schedules/.test(e.message) && /does not exist|could not find|PGRST202|42883/i.test(`${e.message} ${JSON.stringify((e as { details?: unknown }).details ?? null)}`)) {
          off = true;
          log.warn('no schedules in this database (apply the schedules migration: npx edgejobs upgrade); not looking again', { error: e.message });
        } else if (Date.now() - warnedAt > 60_000) {
          warnedAt = Date.now();
          log.warn('could not look at schedules; looking again later', { error: e.message });
        }
        return null;
      },
    ).finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
  return {
    tick,
    /** A look when `everyMs` has passed since the last; null when none is due. */
    maybeTick(): Promise<FiredSchedules | null> | null {
      return !off && !inFlight && Date.now() - last >= everyMs ? tick() : null;
    },
    /** The look in flight, if any (a drain waits for it before it ends). */
    get inFlight() {
      return inFlight;
    },
  };
}

/**
 * Writes the app's schedules (idempotent; call it at start, after the job types are registered):
 * creates and updates them, and retires those the app no longer lists, which then fire no more.
 * @example
 * await registerSchedules(store, [dailyBrief, ingestNews])
 */
export async function registerSchedules(
  store: { registerSchedules(schedules: ScheduleDefinition[]): Promise<Array<{ name: string; created: boolean; retired: boolean }>> },
  schedules: ScheduleDefinition[],
): Promise<Array<{ name: string; created: boolean; retired: boolean }>> {
  const names = new Set<string>();
  for (const s of schedules) {
    if (names.has(s.name)) throw new EdgeJobsError('invalid_argument', `schedule ${s.name} is given twice`);
    names.add(s.name);
  }
  return store.registerSchedules(schedules);
}

const scheduleRegistrations = new WeakMap<object, WeakMap<ScheduleDefinition[], Promise<boolean>>>();

/**
 * {@link registerSchedules} once per process for this store and list (the drains call it after
 * the job types); a failure is logged and tried again at the next drain.
 */
export function registerSchedulesOnce(
  store: { registerSchedules(schedules: ScheduleDefinition[]): Promise<Array<{ name: string; created: boolean; retired: boolean }>> },
  schedules: ScheduleDefinition[],
  log: Logger,
): Promise<boolean> {
  let byList = scheduleRegistrations.get(store);
  if (!byList) scheduleRegistrations.set(store, (byList = new WeakMap()));
  const known = byList.get(schedules);
  if (known) return known;
  const attempt = registerSchedules(store, schedules).then(
    (result) => {
      const retired = result.filter((r) => r.retired).map((r) => r.name);
      if (retired.length) log.info('schedules no longer in the code were retired', { schedules: retired });
      return true;
    },
    (error: unknown) => {
      byList.delete(schedules);
      log.warn('could not register the schedules; trying again at the next drain', { error: coerceError(error).message });
      return false;
    },
  );
  byList.set(schedules, attempt);
  return attempt;
}
