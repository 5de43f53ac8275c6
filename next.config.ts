import type { NextConfig } from 'next';

const config: NextConfig = {
  // The database drivers run on the server only; keep them out of the bundle.
  serverExternalPackages: ['postgres'],
  poweredByHeader: false,
  // The test of `npm run dev` builds into its own folder, so it can run beside `next build`.
  distDir: process.env.EDGEJOBS_NEXT_DIST_DIR || '.next',
  // `next build` type-checks with this project's tsconfig (strict) as part of the build.
  typescript: { ignoreBuildErrors: false },
};

export default config;
