#!/usr/bin/env node
import { runCli } from './cli-program.js';

const code = await runCli(process.argv, {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  onSignal: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  },
  exit: (exitCode) => process.exit(exitCode),
});
// `start` keeps the process alive until a signal; other commands end here.
if (code !== undefined) process.exitCode = code;
