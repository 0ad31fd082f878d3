import { packageBuild } from '../../tsup.package.js';

export default packageBuild({
  // zod comes with @kaiwa/core (same major); bundling a second copy would break instanceof checks.
  external: ['zod'],
});
