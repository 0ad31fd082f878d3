import { packageBuild } from '../../../tsup.package.js';

export default packageBuild({
  entry: { index: 'src/index.ts', testing: 'src/testing.ts' },
  external: ['better-sqlite3', 'pg', 'mysql2'],
});
