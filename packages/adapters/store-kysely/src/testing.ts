export {
  type PrivatePostgres,
  postgresBinDirectory,
  startPrivatePostgres,
} from './replicated-postgres.js';
export { openTestStore, testDatabaseUrl, testSkipReason } from './test-support.js';
