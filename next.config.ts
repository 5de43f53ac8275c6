import type { NextConfig } from 'next';

const config: NextConfig = {
  // The database drivers run on the server only; keep them out of the bundle.
  serverExternalPackages: ['postgres'],
  poweredByHeader: false,
  // `next build` type-checks with this project's tsconfig (strict) as part of the build.
  typescript: { ignoreBuildErrors: false },
};

export default config;
