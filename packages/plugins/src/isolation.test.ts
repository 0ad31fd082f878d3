import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PluginHost } from './plugin-host.js';
import { createProcessRuntime, detectNetworkIsolation } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';
import { describeHostilePlugin } from './test-support/hostile-contract.js';

const exampleSource = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));
const isolation = detectNetworkIsolation();

// The attacks of test-support/hostile-contract.ts (the container runtime runs the same), as the process runtime
// answers them: Node's permission model denies with ERR_ACCESS_DENIED.
describeHostilePlugin({
  name: 'process',
  runtime: () => createProcessRuntime({ acceptUnisolatedNetwork: isolation === undefined }),
  manifestRuntime: 'process',
  isolatesNetwork: isolation !== undefined,
  ownManifest: (folder) => `${folder}/kaiwa-plugin.json`,
  writeTargets: (folder) => [`${folder}/owned.txt`, '/tmp/kaiwa-owned.txt'],
  ownEnv: [],
  denied: {
    read: /^denied: ERR_ACCESS_DENIED/,
    write: /^denied: ERR_ACCESS_DENIED/,
    spawn: /^denied: ERR_ACCESS_DENIED/,
    forkBomb: /^denied: ERR_ACCESS_DENIED/,
    worker: /^denied: ERR_ACCESS_DENIED/,
  },
  // Node's --max-old-space-size bounds the heap only: a plugin's Buffers are not bounded (README, "Not isolated").
  boundsOffHeapMemory: false,
});

describe('the process runtime without network isolation', () => {
  it('refuses to start a plugin unless the operator accepted it', async () => {
    const folder = await buildPluginFolder(exampleSource);
    const { ports } = createFakePorts();
    const refusing = new PluginHost({
      ports,
      runtime: createProcessRuntime({ networkIsolation: 'none' }),
      engineVersion: '0.1.0',
    });
    await refusing.add(folder);
    await expect(refusing.start('hello')).rejects.toMatchObject({
      code: 'network_isolation_unavailable',
      message: expect.stringContaining('acceptUnisolatedNetwork: true'),
    });
    const accepting = new PluginHost({
      ports,
      runtime: createProcessRuntime({ networkIsolation: 'none', acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
    });
    await accepting.add(folder);
    await accepting.start('hello');
    expect(await accepting.runStep({ type: 'hello.greet', input: 'Ada' })).toEqual({
      greeting: 'Hello, Ada!',
    });
    await accepting.stopAll();
    await rm(folder, { recursive: true, force: true });
  });
});

describe('the process runtime and symbolic links', () => {
  it('refuses a plugin folder holding a symbolic link (Node would follow it out of the folder)', async () => {
    const folder = await buildPluginFolder(exampleSource);
    await symlink('/etc', join(folder, 'etc'));
    const { ports } = createFakePorts();
    const host = new PluginHost({
      ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
    });
    await host.add(folder);
    await expect(host.start('hello')).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('symbolic link'),
    });
    await rm(folder, { recursive: true, force: true });
  });
});
