/**
 * What Postgres `jsonb` can store, checked before a value is sent: strings without the NUL
 * character (jsonb refuses `\u0000`: SQLSTATE 22P05) or lone UTF-16 surrogates, finite numbers
 * (`JSON.parse('1e999')` is Infinity, which JSON.stringify would turn into null), and nesting no
 * deeper than {@link MAX_JSON_DEPTH} (deeper values exhaust the stack of JSON code on both sides:
 * SQLSTATE 54001; a value that contains itself is reported as too deep).
 */
import { EdgeJobsError } from './errors.ts';

/** Deepest nesting of arrays and objects accepted in a job's input, result, progress or checkpoint. */
export const MAX_JSON_DEPTH = 64;

const NUL = '\u0000';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Throws `invalid_argument` naming the first place (`input.rows.3.title`) where `value` holds
 * something Postgres jsonb cannot store. The walk stops at {@link MAX_JSON_DEPTH}, so no input
 * can overflow the stack here; the path is built only for the error.
 */
export function assertStorableJson(value: unknown, path: string): void {
  if (value === null || value === undefined || typeof value === 'boolean') return;
  walk(value, 0, path, []);
}

function walk(v: unknown, depth: number, path: string, keys: string[]): void {
  switch (typeof v) {
    case 'string':
      if (v.includes(NUL)) refuse(path, keys, 'holds the NUL character (\\u0000), which Postgres cannot store; remove it or encode the data (e.g. base64)');
      if (LONE_SURROGATE.test(v)) refuse(path, keys, 'holds a lone UTF-16 surrogate, which is not valid Unicode');
      return;
    case 'number':
      if (!Number.isFinite(v)) refuse(path, keys, `is ${v}: JSON numbers must be finite`);
      return;
    case 'bigint':
      return refuse(path, keys, 'is a bigint, which JSON cannot hold; send it as a string');
    case 'object': {
      if (v === null) return;
      if (depth >= MAX_JSON_DEPTH) refuse(path, keys, `is nested more than ${MAX_JSON_DEPTH} levels deep (or contains itself)`);
      // toJSON (Date and friends) decides what is sent: check that.
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return walk(JSON.parse(JSON.stringify(v)) as unknown, depth, path, keys);
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          keys.push(String(i));
          walk(v[i], depth + 1, path, keys);
          keys.pop();
        }
        return;
      }
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        if (key.includes(NUL)) refuse(path, keys, 'has a key with the NUL character (\\u0000), which Postgres cannot store');
        if (LONE_SURROGATE.test(key)) refuse(path, keys, 'has a key with a lone UTF-16 surrogate, which is not valid Unicode');
        keys.push(key);
        walk((v as Record<string, unknown>)[key], depth + 1, path, keys);
        keys.pop();
      }
      return;
    }
    default:
  }
}

function refuse(path: string, keys: string[], what: string): never {
  const at = [path, ...keys].join('.');
  throw new EdgeJobsError('invalid_argument', `${at} ${what}`, { details: { path: at } });
}

const UNSTORABLE_CHARS = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A copy of `value` that jsonb can store, for the records edgejobs writes itself (a failed
 * attempt's error): the NUL character and lone surrogates become U+FFFD, non-finite numbers and
 * bigints become strings, and anything nested deeper than {@link MAX_JSON_DEPTH} is cut.
 */
export function toStorableJson(value: unknown): unknown {
  // Ancestors, to cut cycles; a budget of nodes, so a graph with shared branches cannot explode.
  const ancestors = new WeakSet<object>();
  let budget = 10_000;
  const copy = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return v.replace(UNSTORABLE_CHARS, '\uFFFD');
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_JSON_DEPTH) return '[nested too deeply]';
    if (ancestors.has(v)) return '[circular]';
    if (--budget < 0) return '[too large]';
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      try {
        return copy(JSON.parse(JSON.stringify(v)) as unknown, depth);
      } catch {
        return '[not JSON]';
      }
    }
    ancestors.add(v);
    try {
      if (Array.isArray(v)) return v.map((item) => copy(item, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) out[String(copy(key, depth))] = copy(item, depth + 1);
      return out;
    } finally {
      ancestors.delete(v);
    }
  };
  return copy(value, 0);
}
