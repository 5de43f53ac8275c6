/**
 * `instanceof` on edgejobs' errors holds across two copies of the package in one process (the
 * source and the build here; in an app, a worker and a registry module that resolved different
 * copies): a PermanentError thrown by a handler is permanent whichever copy made it. A subclass the
 * app defines is checked the ordinary way.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { ROOT } from '../../scripts/embedded-db.ts';
import * as source from '../../lib/errors.ts';
import { ApiError as SourceApiError } from '../../lib/client/http-client.ts';

type Errors = typeof source;
let built: Errors;
let BuiltApiError: typeof SourceApiError;
beforeAll(async () => {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
  built = (await import(join(ROOT, 'dist/errors.js'))) as Errors;
  BuiltApiError = ((await import(join(ROOT, 'dist/client/http-client.js'))) as { ApiError: typeof SourceApiError }).ApiError;
}, 60_000);

it('an error made by one copy is an instance of the same class, and of its bases, in the other', () => {
  expect(built.PermanentError).not.toBe(source.PermanentError); // two copies indeed
  const permanent = new source.PermanentError('gone', { code: 'file_missing' });
  expect(permanent).toBeInstanceOf(built.PermanentError);
  expect(permanent).toBeInstanceOf(built.EdgeJobsError);
  expect(permanent).toBeInstanceOf(Error);
  expect(permanent).not.toBeInstanceOf(built.RetryLaterError);
  expect(permanent).not.toBeInstanceOf(built.ValidationError);

  const later = new built.RetryLaterError('rate limited', { retryAt: new Date() });
  expect(later).toBeInstanceOf(source.RetryLaterError);
  expect(later).toBeInstanceOf(source.EdgeJobsError);
  expect(later).not.toBeInstanceOf(source.PermanentError);

  const invalid = new built.ValidationError('bad', []);
  expect(invalid).toBeInstanceOf(source.ValidationError);
  expect(invalid).not.toBeInstanceOf(source.PermanentError);

  const api = new BuiltApiError(404, { code: 'not_found', message: 'no such job' } as never);
  expect(api).toBeInstanceOf(SourceApiError);
  expect(api).toBeInstanceOf(source.EdgeJobsError);
});

it('plain errors and look-alikes are not edgejobs errors', () => {
  expect(new Error('x')).not.toBeInstanceOf(source.EdgeJobsError);
  expect({ name: 'PermanentError', code: 'permanent' }).not.toBeInstanceOf(source.PermanentError);
  expect(null).not.toBeInstanceOf(source.EdgeJobsError);
  expect('PermanentError').not.toBeInstanceOf(source.PermanentError);
});

it("an app's own subclass: its instances are its own and its base's, not the other way round", () => {
  class QuotaGone extends source.PermanentError {}
  class Other extends source.PermanentError {}
  const quota = new QuotaGone('quota');
  expect(quota).toBeInstanceOf(QuotaGone);
  expect(quota).toBeInstanceOf(source.PermanentError);
  expect(quota).toBeInstanceOf(built.PermanentError);
  expect(quota).toBeInstanceOf(built.EdgeJobsError);
  expect(quota).not.toBeInstanceOf(Other);
  expect(new source.PermanentError('plain')).not.toBeInstanceOf(QuotaGone);
});
