// A plugin for lifecycle tests (install, upgrade, rollback): `/whoami` answers with the running version and the
// migrations it ran. Tests pick a version's behaviour with the manifest's default for the `mode` setting:
// `fail-start` throws in its handshake, `hang-after-migrate` blocks its event loop once its migration has answered
// (so the health check after it goes unanswered), `fail-migrate` writes half its migration and throws.
// A version whose manifest declares the `lifecycle.version` workflow step type handles it (the step answers the
// running version); others do not, as a handler the manifest does not declare refuses the start.
import { readFileSync } from 'node:fs';
import { definePlugin } from '@kaiwa/plugin-sdk';

const manifest = JSON.parse(readFileSync(new URL('./kaiwa-plugin.json', import.meta.url), 'utf8'));
const declaresVersionStep = (manifest.capabilities.workflowSteps ?? []).some(
  (step) => step.type === 'lifecycle.version',
);

definePlugin({
  ...(declaresVersionStep
    ? { steps: { 'lifecycle.version': (_step, { plugin }) => ({ version: plugin.version }) } }
    : {}),
  commands: {
    async whoami(_input, { plugin, storage }) {
      const migrations = (await storage.get('migrations')) ?? [];
      return `${plugin.id} ${plugin.version}; migrations: ${JSON.stringify(migrations)}`;
    },
  },
  onStart({ settings }) {
    if (settings.mode === 'fail-start') throw new Error('this version cannot start');
  },
  async migrate({ fromVersion, toVersion }, { settings, storage }) {
    const migrations = (await storage.get('migrations')) ?? [];
    if (settings.mode === 'fail-migrate') {
      // Half done: a rollback must undo this write.
      await storage.set('migrations', [...migrations, `${fromVersion}->${toVersion} (half done)`]);
      throw new Error(`cannot migrate from ${fromVersion}`);
    }
    await storage.set('migrations', [...migrations, `${fromVersion}->${toVersion}`]);
    if (settings.mode === 'hang-after-migrate') {
      // Once the answer is out (a pipe write is synchronous on Linux): busy for ever, health checks unanswered.
      setTimeout(() => {
        for (;;) {}
      }, 0);
    }
  },
}).listen();
