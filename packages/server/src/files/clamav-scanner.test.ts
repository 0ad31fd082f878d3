import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClamavScanner, parseClamdAddress } from './clamav-scanner.js';
import {
  EICAR,
  EICAR_SIGNATURE,
  startTestClamd,
  type TestClamd,
  testClamdBinary,
} from './clamd-test-support.js';
import { UploadScanError } from './upload-scanner.js';

const CLAMD = testClamdBinary();
if (!CLAMD) {
  console.warn(
    "clamd tests skipped: set KAIWA_TEST_CLAMD=1 (Debian's clamav-daemon, /usr/sbin/clamd) or KAIWA_TEST_CLAMD=<clamd path> to run them",
  );
}

/** The failure a scan ended with; fails the test when it gave a verdict instead. */
async function scanFailure(scan: Promise<unknown>): Promise<UploadScanError> {
  const outcome = await scan.then(
    (verdict) => ({ verdict }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected no verdict, got ${JSON.stringify(outcome.verdict)}`);
  expect(outcome.error).toBeInstanceOf(UploadScanError);
  return outcome.error as UploadScanError;
}

async function* chunksOf(bytes: Buffer, size: number) {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

describe('parseClamdAddress', () => {
  it('reads host:port, [IPv6]:port and socket paths', () => {
    expect(parseClamdAddress('127.0.0.1:3310')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 3310 });
    expect(parseClamdAddress(' clamav.internal:3310 ')).toEqual({
      kind: 'tcp',
      host: 'clamav.internal',
      port: 3310,
    });
    expect(parseClamdAddress('[::1]:3310')).toEqual({ kind: 'tcp', host: '::1', port: 3310 });
    expect(parseClamdAddress('/run/clamav/clamd.ctl')).toEqual({
      kind: 'unix',
      path: '/run/clamav/clamd.ctl',
    });
    expect(parseClamdAddress('./clamd.sock')).toEqual({ kind: 'unix', path: './clamd.sock' });
  });

  it('refuses what is neither', () => {
    for (const value of ['', 'clamd', 'localhost', 'host:0', 'host:70000', 'host:port', 'a b/c', ':3310']) {
      expect(parseClamdAddress(value), value).toBeUndefined();
    }
  });
});

describe.skipIf(!CLAMD)('ClamavScanner against a real clamd', () => {
  let clamd: TestClamd;
  let scanner: ClamavScanner;

  beforeAll(async () => {
    clamd = await startTestClamd(CLAMD!, { streamMaxLength: 1024 * 1024 });
    scanner = new ClamavScanner({ address: { kind: 'unix', path: clamd.socketPath }, timeoutMs: 5000 });
  });
  afterAll(() => clamd?.close());

  it('answers clean for clean bytes and names the signature of the EICAR test file', async () => {
    expect(await scanner.scan(Buffer.from('hello, clean world\n'))).toEqual({ result: 'clean' });
    expect(await scanner.scan(Buffer.alloc(0))).toEqual({ result: 'clean' });
    expect(await scanner.scan(Buffer.from(EICAR))).toEqual({
      result: 'infected',
      signature: EICAR_SIGNATURE,
    });
  });

  it('finds EICAR split across stream chunks and across protocol chunks', async () => {
    const eicar = Buffer.from(EICAR);
    expect(await scanner.scan(chunksOf(eicar, 5))).toMatchObject({ result: 'infected' });
    const tiny = new ClamavScanner({
      address: { kind: 'unix', path: clamd.socketPath },
      timeoutMs: 5000,
      chunkBytes: 7,
    });
    expect(await tiny.scan(eicar)).toMatchObject({ result: 'infected', signature: EICAR_SIGNATURE });
  });

  it('scans over TCP as over the unix socket', async () => {
    const overTcp = new ClamavScanner({ address: { kind: 'tcp', ...clamd.tcp }, timeoutMs: 5000 });
    expect(await overTcp.scan(Buffer.from(EICAR))).toMatchObject({ result: 'infected' });
    expect(await overTcp.scan(Buffer.from('fine'))).toEqual({ result: 'clean' });
  });

  it('scans many uploads side by side, each with its own answer', async () => {
    const verdicts = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        scanner.scan(Buffer.from(index % 3 === 0 ? EICAR : `clean file ${index}`)),
      ),
    );
    verdicts.forEach((verdict, index) => {
      expect(verdict.result).toBe(index % 3 === 0 ? 'infected' : 'clean');
    });
  });

  it('scans a file just under StreamMaxLength, and refuses one past it as size_limit, never clean', async () => {
    expect(await scanner.scan(chunksOf(Buffer.alloc(clamd.streamMaxLength - 1024, 'a'), 64 * 1024))).toEqual({
      result: 'clean',
    });
    for (const size of [clamd.streamMaxLength + 1, 8 * clamd.streamMaxLength]) {
      const failure = await scanFailure(scanner.scan(chunksOf(Buffer.alloc(size, 'a'), 256 * 1024)));
      // clamd answers "INSTREAM size limit exceeded" and closes; when that answer is lost to EPIPE, the
      // closed connection is still no verdict.
      expect(['size_limit', 'connection_lost']).toContain(failure.reason);
    }
  });

  it('says unreachable when nothing listens, and timeout when clamd hangs', async () => {
    const nowhere = new ClamavScanner({
      address: { kind: 'unix', path: join(clamd.socketPath, '..', 'missing.sock') },
      timeoutMs: 1000,
    });
    expect((await scanFailure(nowhere.scan(Buffer.from('x')))).reason).toBe('unreachable');
    const closedPort = new ClamavScanner({
      address: { kind: 'tcp', host: '127.0.0.1', port: 1 },
      timeoutMs: 1000,
    });
    expect((await scanFailure(closedPort.scan(Buffer.from('x')))).reason).toBe('unreachable');

    const impatient = new ClamavScanner({
      address: { kind: 'unix', path: clamd.socketPath },
      timeoutMs: 300,
    });
    clamd.pause();
    try {
      const started = performance.now();
      const failure = await scanFailure(impatient.scan(Buffer.from(EICAR)));
      expect(failure.reason).toBe('timeout');
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      clamd.resume();
    }
    // Back to normal once it runs again.
    expect(await scanner.scan(Buffer.from(EICAR))).toMatchObject({ result: 'infected' });
  });

  it('gives no verdict when the bytes to scan cannot be read', async () => {
    const broken = (async function* () {
      yield Buffer.from('start');
      throw new Error('disk gone');
    })();
    const outcome = await scanner.scan(broken).then(
      () => 'verdict',
      (error: Error) => error.message,
    );
    expect(outcome).toBe('disk gone');
  });

  it('answers PING while up, and says unreachable once clamd stops', async () => {
    await scanner.ping();
    await clamd.stop();
    try {
      expect((await scanFailure(scanner.scan(Buffer.from('x')))).reason).toBe('unreachable');
      expect((await scanFailure(scanner.ping())).reason).toBe('unreachable');
    } finally {
      await clamd.start();
    }
    expect(await scanner.scan(Buffer.from('x'))).toEqual({ result: 'clean' });
  });
});
