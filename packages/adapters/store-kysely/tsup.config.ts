import { packageBuild } from '../../../tsup.package.js';

export default packageBuild({ external: ['better-sqlite3', 'pg', 'mysql2'] });
