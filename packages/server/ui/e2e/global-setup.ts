import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

/*
 * vitest's global setup (vitest.config.ts): a folder for this run's one build of the web UI, which the browser
 * test files share (browser-test-server.ts builds it there when the first of them starts, so a run without
 * browser tests builds nothing). A rerun in watch mode starts from an empty folder: the UI may have changed.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where the browser test files of this run share one UI build (see browser-test-server.ts). */
    kaiwaSharedUiBuild: string;
  }
}

export default function setup(project: TestProject): () => void {
  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-e2e-ui-'));
  project.provide('kaiwaSharedUiBuild', directory);
  project.onTestsRerun(() => {
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true });
  });
  return () => rmSync(directory, { recursive: true, force: true });
}
