import type { NextConfig } from 'next';

const config: NextConfig = {
  // The database drivers run on the server only; keep them out of the bundle.
  serverExternalPackages: ['postgres'],
  poweredByHeader: false,
  // `next dev` logs every request: not the status polls and job lists (a page polling a job would
  // fill the terminal), still the enqueues and the pages.
  logging: { incomingRequests: { ignore: [/^\/api\/jobs\/[0-9a-fA-F-]{36}(\?|$)/, /^\/api\/jobs\?/, /^\/favicon\.ico$/] } },
  // The test of `npm run dev` builds into its own folder, so it can run beside `next build`.
  distDir: process.env.EDGEJOBS_NEXT_DIST_DIR || '.next',
  // `next build` type-checks with this project's tsconfig (strict) as part of the build.
  typescript: { ignoreBuildErrors: false },
};

export default config;
