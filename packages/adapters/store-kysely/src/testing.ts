export { openTestStore, testDatabaseUrl, testSkipReason } from './test-support.js';
