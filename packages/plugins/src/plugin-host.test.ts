import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { PluginHost } from './plugin-host.js';
import type { PluginEvent } from './plugin-supervisor.js';
import { createProcessRuntime } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';

const exampleSource = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));

describe('PluginHost with the example plugin (a real child process)', () => {
  let folder: string;
  const { ports, posted } = createFakePorts([{ id: 'room-1', name: 'general', pluginIsMember: false }]);
  const events: PluginEvent[] = [];
  let host: PluginHost;

  beforeAll(async () => {
    folder = await buildPluginFolder(exampleSource);
    // Where unshare is not permitted, this test is about the plugin, not the network: accept that.
    host = new PluginHost({
      ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
      onEvent: (event) => events.push(event),
    });
    await host.add(folder, { greeting: 'Konnichiwa' });
    await host.start('hello');
  });

  afterAll(async () => {
    await host.stopAll();
    await rm(folder, { recursive: true, force: true });
  });

  it('answers /hello in the room as the plugin, with its settings and its storage', async () => {
    const first = await host.runCommand({
      command: 'hello',
      args: 'Ada',
      roomId: 'room-1',
      userId: 'user-1',
    });
    expect(first).toEqual({ reply: 'Konnichiwa, Ada!', messageId: expect.any(String) });
    expect(posted.at(-1)).toEqual({ pluginId: 'hello', roomId: 'room-1', text: 'Konnichiwa, Ada!' });
    await host.runCommand({ command: 'hello', args: '', roomId: 'room-1', userId: 'user-1' });
    expect(posted.at(-1)?.text).toBe('Konnichiwa, <@user-1>!');
    expect(await ports.storage.get('hello', 'greeted')).toBe(2);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'log', pluginId: 'hello', level: 'info', message: 'greeted' }),
    );
  });

  it('runs the hello.greet workflow step', async () => {
    expect(await host.runStep({ type: 'hello.greet', input: { name: 'Grace' } })).toEqual({
      greeting: 'Konnichiwa, Grace!',
    });
  });

  it('lists what the running plugin registered', () => {
    expect(host.commands()).toEqual([
      { name: 'hello', description: 'Says hello to you, or to whoever you name', pluginId: 'hello' },
    ]);
    expect(host.stepTypes()).toEqual([
      { type: 'hello.greet', description: 'Turns a name into a greeting', pluginId: 'hello' },
    ]);
    expect(host.list()).toEqual([{ id: 'hello', state: 'running', version: '1.0.0' }]);
  });

  it('names a command or step no plugin provides', async () => {
    await expect(
      host.runCommand({ command: 'nope', args: '', roomId: 'room-1', userId: 'u' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(host.runStep({ type: 'nope.step', input: null })).rejects.toSatisfy(
      (error) => PluginError.isInstance(error) && error.code === 'not_found',
    );
  });

  it('refuses settings the schema does not allow, naming each', async () => {
    const other = new PluginHost({ ports, runtime: createProcessRuntime(), engineVersion: '0.1.0' });
    await expect(other.add(folder, { greeting: 'x'.repeat(41), colour: 'red' })).rejects.toMatchObject({
      code: 'invalid_settings',
      issues: [
        { path: ['colour'], message: 'not a setting of this plugin' },
        { path: ['greeting'], message: 'at most 40 characters' },
      ],
    });
  });

  it('refuses a Kaiwa outside the engine range', async () => {
    const other = new PluginHost({ ports, runtime: createProcessRuntime(), engineVersion: '2.0.0' });
    await expect(other.add(folder)).rejects.toMatchObject({ code: 'incompatible_engine' });
  });

  it('stops the plugin on request, without restarting it', async () => {
    const stopping = new PluginHost({
      ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
      onEvent: (event) => events.push(event),
    });
    const supervisor = await stopping.add(folder);
    await stopping.start('hello');
    await stopping.stop('hello');
    expect(supervisor.state).toBe('stopped');
    expect(events).toContainEqual(expect.objectContaining({ type: 'exited', reason: 'stopped' }));
    await expect(supervisor.call('steps.run', { type: 'hello.greet', input: 'x' })).rejects.toMatchObject({
      code: 'not_running',
    });
  });
});
