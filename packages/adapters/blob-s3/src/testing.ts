export { type LocalS3Server, startLocalS3Server } from './test-support/local-s3-server.js';
