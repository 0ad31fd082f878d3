import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import type { User } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipartBody, startTestServer, type TestServer } from '../test-support.js';

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf' +
    'c00000000301010018dd8db40000000049454e44ae426082',
  'hex',
);
/** The start of a Windows executable (MZ header with a PE signature offset), enough for magic-byte detection. */
const EXE = Buffer.concat([
  Buffer.from('4d5a90000300000004000000ffff0000b800000000000000400000000000000000000000', 'hex'),
  Buffer.alloc(36),
  Buffer.from('80000000', 'hex'),
  Buffer.alloc(64),
  Buffer.from('50450000', 'hex'),
  Buffer.alloc(200),
]);
/** The start of a PDF. */
const PDF = Buffer.from(
  '%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
);

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('files', () => {
  let test: TestServer;
  let alice: { user: User; token: string };
  let outsider: { user: User; token: string };
  let roomId: string;
  let groupId: string;

  beforeAll(async () => {
    test = await startTestServer({ maxUploadBytes: 64 * 1024 });
    alice = await test.signedIn('member');
    outsider = await test.signedIn('member');
    roomId = (
      await test.call('POST', '/api/v1/rooms', {
        token: alice.token,
        body: { kind: 'channel', name: 'files' },
      })
    ).json().id;
    groupId = (
      await test.call('POST', '/api/v1/rooms', {
        token: alice.token,
        body: { kind: 'group', name: 'private-files' },
      })
    ).json().id;
  });
  afterAll(() => test.close());

  const upload = (
    token: string,
    fields: Record<string, string>,
    file: { name: string; content: Buffer | string; type?: string },
  ) => {
    const { payload, headers } = multipartBody(fields, file);
    return test.server.app.inject({
      method: 'POST',
      url: '/api/v1/files',
      headers: { ...headers, authorization: `Bearer ${token}` },
      payload,
    });
  };

  /** Every blob in the upload directory. */
  const storedBlobs = () => {
    try {
      return readdirSync(test.config.uploadDirectory, { recursive: true, withFileTypes: true }).filter(
        (entry) => entry.isFile(),
      );
    } catch {
      return [];
    }
  };

  it('stores an image judged by its bytes, with the right SHA-256, and serves it back inline', async () => {
    const response = await upload(
      alice.token,
      { roomId },
      { name: 'pixel.png', content: PNG, type: 'text/plain' },
    );
    expect(response.statusCode).toBe(201);
    const file = response.json();
    expect(file).toMatchObject({
      name: 'pixel.png',
      mimeType: 'image/png',
      size: PNG.length,
      sha256: sha256(PNG),
      roomId,
      uploaderId: alice.user.id,
    });
    expect(file.storageKey).toMatch(/^\d{4}\/\d{2}\/[0-9A-Z]{26}$/);

    const content = await test.call('GET', `/api/v1/files/${file.id}/content`, { token: alice.token });
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.equals(PNG)).toBe(true);
    expect(content.headers['content-type']).toBe('image/png');
    expect(content.headers['content-disposition']).toBe('inline; filename="pixel.png"');
    expect(content.headers['x-content-type-options']).toBe('nosniff');
    expect(content.headers['content-security-policy']).toContain("default-src 'none'");
    expect(content.headers['content-security-policy']).toContain('sandbox');
    // Exactly the strict policy: nothing of helmet's defaults merged in.
    expect(content.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(content.headers['content-security-policy']).not.toContain('style-src');
    expect(content.headers.etag).toBe(`"${file.sha256}"`);

    const cached = await test.call('GET', `/api/v1/files/${file.id}/content`, {
      token: alice.token,
      headers: { 'if-none-match': `"${file.sha256}"` },
    });
    expect(cached.statusCode).toBe(304);

    const record = await test.call('GET', `/api/v1/files/${file.id}`, { token: alice.token });
    expect(record.json().id).toBe(file.id);
    const listed = await test.call('GET', `/api/v1/files?roomId=${roomId}&mimeType=image/*`, {
      token: alice.token,
    });
    expect(listed.json().files.map((each: { id: string }) => each.id)).toContain(file.id);
  });

  it('rejects an executable renamed .png and keeps nothing', async () => {
    const before = storedBlobs().length;
    const response = await upload(
      alice.token,
      { roomId },
      { name: 'cat.png', content: EXE, type: 'image/png' },
    );
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toMatchObject({
      code: 'file_type_not_allowed',
      details: { detectedType: 'application/x-msdownload' },
    });
    expect(storedBlobs()).toHaveLength(before);
  });

  it('applies the allow-list: unknown binary content is refused, PDFs and UTF-8 text pass', async () => {
    const binary = await upload(
      alice.token,
      { roomId },
      { name: 'data.bin', content: Buffer.from([0, 1, 2, 3, 0]) },
    );
    expect(binary.statusCode).toBe(415);
    expect(binary.json().error.details.detectedType).toBe('application/octet-stream');
    const latin1 = await upload(
      alice.token,
      { roomId },
      { name: 'old.txt', content: Buffer.from([0x63, 0x61, 0xe9]) },
    );
    expect(latin1.statusCode).toBe(415);

    const pdf = await upload(alice.token, { roomId }, { name: 'spec.pdf', content: PDF });
    expect(pdf.statusCode).toBe(201);
    expect(pdf.json().mimeType).toBe('application/pdf');
    const text = await upload(alice.token, { roomId }, { name: 'notes.txt', content: 'こんにちは\nworld\n' });
    expect(text.statusCode).toBe(201);
    expect(text.json().mimeType).toBe('text/plain');
    const download = await test.call('GET', `/api/v1/files/${text.json().id}/content`, {
      token: alice.token,
    });
    expect(download.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(download.headers['content-disposition']).toBe('attachment; filename="notes.txt"');
    expect(download.body).toBe('こんにちは\nworld\n');
  });

  it('refuses types left off a configured allow-list', async () => {
    const imagesOnly = await startTestServer({ uploadAllowedTypes: ['image/*'] });
    try {
      const member = await imagesOnly.signedIn('member');
      const room = (
        await imagesOnly.call('POST', '/api/v1/rooms', {
          token: member.token,
          body: { kind: 'channel', name: 'pics' },
        })
      ).json();
      const { payload, headers } = multipartBody({ roomId: room.id }, { name: 'spec.pdf', content: PDF });
      const pdf = await imagesOnly.server.app.inject({
        method: 'POST',
        url: '/api/v1/files',
        headers: { ...headers, authorization: `Bearer ${member.token}` },
        payload,
      });
      expect(pdf.statusCode).toBe(415);
      const png = multipartBody({ roomId: room.id }, { name: 'p.png', content: PNG });
      const image = await imagesOnly.server.app.inject({
        method: 'POST',
        url: '/api/v1/files',
        headers: { ...png.headers, authorization: `Bearer ${member.token}` },
        payload: png.payload,
      });
      expect(image.statusCode).toBe(201);
    } finally {
      await imagesOnly.close();
    }
  });

  it('answers 413 past the size limit and keeps nothing', async () => {
    const before = storedBlobs().length;
    const big = Buffer.alloc(64 * 1024 + 1, 'a');
    const response = await upload(alice.token, { roomId }, { name: 'big.txt', content: big });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('payload_too_large');
    const huge = await upload(
      alice.token,
      { roomId },
      { name: 'huge.txt', content: Buffer.alloc(200 * 1024, 'a') },
    );
    expect(huge.statusCode).toBe(413);
    expect(storedBlobs()).toHaveLength(before);
  });

  it('treats traversal-looking names as plain names and keys blobs by server-made ids', async () => {
    const response = await upload(
      alice.token,
      { roomId },
      { name: '../../../etc/passwd\u202egpj.txt', content: 'harmless text' },
    );
    expect(response.statusCode).toBe(201);
    const file = response.json();
    expect(file.name).toBe('passwdgpj.txt');
    expect(file.storageKey).not.toContain('passwd');
    const windows = await upload(alice.token, { roomId }, { name: '..\\..\\boot.ini', content: 'x' });
    expect(windows.json().name).toBe('boot.ini');
    const dots = await upload(alice.token, { roomId }, { name: '..', content: 'x' });
    expect(dots.json().name).toBe('file');
    for (const entry of storedBlobs()) {
      expect(entry.parentPath.startsWith(test.config.uploadDirectory)).toBe(true);
      expect(entry.name).toMatch(/^[0-9A-Z]{26}$/);
    }
  });

  it('sends a Japanese file name with filename* (RFC 5987) and an ASCII fallback', async () => {
    const response = await upload(alice.token, { roomId }, { name: '議事録 最終版.txt', content: 'メモ' });
    expect(response.statusCode).toBe(201);
    expect(response.json().name).toBe('議事録 最終版.txt');
    const download = await test.call('GET', `/api/v1/files/${response.json().id}/content?download=true`, {
      token: alice.token,
    });
    const disposition = download.headers['content-disposition'] as string;
    expect(disposition).toBe(
      `attachment; filename="___ ___.txt"; filename*=UTF-8''${encodeURIComponent('議事録 最終版.txt')}`,
    );
    expect(disposition).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''/);
    expect(disposition).not.toMatch(/[\r\n]/);
    const encoded = disposition.split("filename*=UTF-8''")[1]!;
    expect(decodeURIComponent(encoded)).toBe('議事録 最終版.txt');
  });

  it('checks access per room: outsiders get 404 for private files, and may not upload where they are no member', async () => {
    const secret = await upload(
      alice.token,
      { roomId: groupId },
      { name: 'secret.txt', content: 'top secret' },
    );
    expect(secret.statusCode).toBe(201);
    const peek = await test.call('GET', `/api/v1/files/${secret.json().id}/content`, {
      token: outsider.token,
    });
    expect(peek.statusCode).toBe(404);
    expect(peek.body).not.toContain('top secret');

    const before = storedBlobs().length;
    const intrude = await upload(
      outsider.token,
      { roomId: groupId },
      { name: 'x.txt', content: 'let me in' },
    );
    expect(intrude.statusCode).toBe(404);
    const notMember = await upload(outsider.token, { roomId }, { name: 'x.txt', content: 'hello' });
    expect(notMember.statusCode).toBe(403);
    expect(storedBlobs()).toHaveLength(before);
  });

  it('asks for a target and a file, naming the field', async () => {
    const noTarget = await upload(alice.token, {}, { name: 'a.txt', content: 'text' });
    expect(noTarget.statusCode).toBe(400);
    expect(noTarget.json().error.details.issues[0].path).toEqual(['roomId']);
    const badId = await upload(alice.token, { roomId: 'nope' }, { name: 'a.txt', content: 'text' });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error.details.issues[0].path).toEqual(['roomId']);
    const json = await test.call('POST', '/api/v1/files', { token: alice.token, body: { roomId } });
    expect(json.statusCode).toBe(415);
  });

  it('deletes the record and the bytes', async () => {
    const file = (await upload(alice.token, { roomId }, { name: 'gone.txt', content: 'bye' })).json();
    const before = storedBlobs().length;
    const denied = await test.call('DELETE', `/api/v1/files/${file.id}`, { token: outsider.token });
    expect(denied.statusCode).toBe(403);
    const deleted = await test.call('DELETE', `/api/v1/files/${file.id}`, { token: alice.token });
    expect(deleted.statusCode).toBe(204);
    expect(storedBlobs()).toHaveLength(before - 1);
    expect((await test.call('GET', `/api/v1/files/${file.id}`, { token: alice.token })).statusCode).toBe(404);
  });

  it('compresses large text downloads', async () => {
    const text = 'lorem ipsum dolor sit amet\n'.repeat(500);
    const file = (await upload(alice.token, { roomId }, { name: 'long.txt', content: text })).json();
    const response = await test.call('GET', `/api/v1/files/${file.id}/content`, {
      token: alice.token,
      headers: { 'accept-encoding': 'br' },
    });
    expect(response.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(response.rawPayload).toString()).toBe(text);
  });
});
