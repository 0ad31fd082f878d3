import { KaiwaApiError } from '@kaiwa/client';
import { describe, expect, it } from 'vitest';
import { lifecycleProblem, normalSha256, sha256Hex } from './plugin-lifecycle-form';

const HASH = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);

describe('normalSha256', () => {
  it('takes the bare digits, a whole sha256sum line, any case, a sha256: prefix', () => {
    expect(normalSha256(HASH)).toBe(HASH);
    expect(normalSha256(`  ${HASH.toUpperCase()}\n`)).toBe(HASH);
    expect(normalSha256(`${HASH}  plugin.tgz`)).toBe(HASH);
    expect(normalSha256(`sha256:${HASH}`)).toBe(HASH);
  });

  it('refuses anything else', () => {
    expect(normalSha256('')).toBeNull();
    expect(normalSha256(HASH.slice(1))).toBeNull();
    expect(normalSha256(`${HASH}0`)).toBeNull();
    expect(normalSha256(`${HASH.slice(1)}g`)).toBeNull();
  });
});

describe('sha256Hex', () => {
  it('is the SHA-256 sha256sum prints', async () => {
    // `printf abc | sha256sum`, the FIPS 180-2 example.
    const bytes = new TextEncoder().encode('abc');
    expect(await sha256Hex(bytes.buffer as ArrayBuffer)).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('lifecycleProblem', () => {
  it('lists every issue as path: message and marks the fields they name', () => {
    const problem = lifecycleProblem(
      new KaiwaApiError(400, 'invalid_manifest', 'the manifest is invalid', {
        issues: [
          { path: ['version'], message: 'must be a semantic version' },
          { path: ['capabilities', 'storage', 'quotaBytes'], message: 'must be at most 1048576' },
          { path: [], message: 'manifest file missing' },
        ],
      }),
    );
    expect(problem.key).toBe('pluginLifecycle.errors.invalidManifest');
    expect(problem.issues).toEqual([
      'version: must be a semantic version',
      'capabilities.storage.quotaBytes: must be at most 1048576',
      'manifest file missing',
    ]);
    expect(problem.fields).toEqual([]);
    expect(problem.rollback).toBeNull();
  });

  it('puts a checksum mismatch on the sha256 field', () => {
    const problem = lifecycleProblem(
      new KaiwaApiError(400, 'checksum_mismatch', `the tarball's SHA-256 is ${HASH}, not 00`, {
        issues: [{ path: ['sha256'], message: `the tarball's SHA-256 is ${HASH}` }],
      }),
    );
    expect(problem.key).toBe('pluginLifecycle.errors.checksumMismatch');
    expect(problem.issues).toEqual([`sha256: the tarball's SHA-256 is ${HASH}`]);
    expect(problem.fields).toEqual(['sha256']);
  });

  it('reads a rollback: stage, reason, the failed and the restored version', () => {
    const problem = lifecycleProblem(
      new KaiwaApiError(422, 'upgrade_rolled_back', 'rolled back', {
        stage: 'migrate',
        reason: 'cannot migrate from 1.0.0',
        failedVersion: '2.0.0',
        restoredVersion: '1.0.0',
      }),
    );
    expect(problem.key).toBe('pluginLifecycle.errors.rolledBack');
    expect(problem.rollback).toEqual({
      stage: 'migrate',
      reason: 'cannot migrate from 1.0.0',
      failedVersion: '2.0.0',
      restoredVersion: '1.0.0',
    });
    expect(problem.params.detail).toBe('');
  });

  it('names the plugin installed already; keeps the server’s message where nothing else says it', () => {
    const installed = lifecycleProblem(
      new KaiwaApiError(409, 'already_installed', 'plugin "hello" is installed already', {
        pluginId: 'hello',
      }),
    );
    expect(installed.key).toBe('pluginLifecycle.errors.alreadyInstalled');
    expect(installed.params).toMatchObject({ pluginId: 'hello', detail: '' });
    const engine = lifecycleProblem(new KaiwaApiError(400, 'incompatible_engine', 'needs kaiwa >=9'));
    expect(engine.params.detail).toBe('needs kaiwa >=9');
    const other = lifecycleProblem(new TypeError('Failed to fetch'));
    expect(other.key).toBe('pluginLifecycle.errors.failed');
    expect(other.params).toMatchObject({ message: 'Failed to fetch', detail: '' });
  });
});
