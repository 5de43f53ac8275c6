/** The logger edgejobs writes to: four levels, a message and structured fields. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * A logger on `console` that prints the given level and above as one line each:
 * `[edgejobs] warn lease lost {"jobId":"..."}`. Default level: `warn`.
 * @example
 * drain({ ..., logger: createConsoleLogger('info') })
 */
export function createConsoleLogger(level: LogLevel = 'warn'): Logger {
  const min = LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const line = `[edgejobs] ${lvl} ${message}${fields ? ` ${safeJson(fields)}` : ''}`;
    (lvl === 'error' ? console.error : lvl === 'warn' ? console.warn : console.log)(line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
