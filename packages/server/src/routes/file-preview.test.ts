import type { User } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTextPdf } from '../../../workflow-steps/src/test-support/test-documents.js';
import { multipartBody, startTestServer, type TestServer } from '../test-support.js';

/*
 * PDF page previews: a real PDF uploaded through the API, each page rendered by pdf.js in a child process of
 * its own and answered as a PNG; the page count in a header; other files, pages past the end and broken PDFs
 * each get their own answer; someone who cannot see the file gets none.
 */

describe('PDF previews', () => {
  let test: TestServer;
  let alice: { user: User; token: string };
  let outsider: { user: User; token: string };
  let groupId: string;

  beforeAll(async () => {
    test = await startTestServer();
    alice = await test.signedIn('member');
    outsider = await test.signedIn('member');
    groupId = (
      await test.call('POST', '/api/v1/rooms', { token: alice.token, body: { kind: 'group', name: 'pdfs' } })
    ).json().id;
  });
  afterAll(() => test?.close());

  async function upload(name: string, content: Buffer, type: string): Promise<string> {
    const { payload, headers } = multipartBody({ roomId: groupId }, { name, content, type });
    const response = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/files',
      headers: { ...headers, authorization: `Bearer ${alice.token}` },
      payload,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().id;
  }

  it('renders each page as a PNG with the page count, and refuses a page past the end', {
    timeout: 120_000,
  }, async () => {
    const fileId = await upload(
      'minutes.pdf',
      writeTextPdf([['Minutes of the launch meeting'], ['Second page: action items']]),
      'application/pdf',
    );
    const first = await test.call('GET', `/api/v1/files/${fileId}/preview`, { token: alice.token });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['content-type']).toBe('image/png');
    expect(first.headers['x-page-count']).toBe('2');
    // Letter at 110 DPI, read from the PNG's header.
    expect([first.rawPayload.readUInt32BE(16), first.rawPayload.readUInt32BE(20)]).toEqual([935, 1210]);
    // Text was drawn: the page compresses worse than a blank page of the same size.
    const blankId = await upload('blank.pdf', writeTextPdf([[]]), 'application/pdf');
    const blank = await test.call('GET', `/api/v1/files/${blankId}/preview`, { token: alice.token });
    expect(blank.statusCode).toBe(200);
    expect(first.rawPayload.length).toBeGreaterThan(blank.rawPayload.length + 1000);

    const second = await test.call('GET', `/api/v1/files/${fileId}/preview?page=2`, { token: alice.token });
    expect(second.statusCode).toBe(200);
    expect(second.rawPayload.equals(first.rawPayload)).toBe(false);
    // Again: from the cache, and the same bytes.
    const again = await test.call('GET', `/api/v1/files/${fileId}/preview?page=2`, { token: alice.token });
    expect(again.rawPayload.equals(second.rawPayload)).toBe(true);

    const past = await test.call('GET', `/api/v1/files/${fileId}/preview?page=3`, { token: alice.token });
    expect(past.statusCode).toBe(400);
    expect(past.json()).toMatchObject({ error: { code: 'validation_failed' } });
    expect(JSON.stringify(past.json())).toContain('"page"');

    const hidden = await test.call('GET', `/api/v1/files/${fileId}/preview`, { token: outsider.token });
    expect(hidden.statusCode).toBe(404);
  });

  it('answers 415 for a file that is no PDF and 422 for a PDF it cannot read', async () => {
    const text = await upload('notes.txt', Buffer.from('just text\n'), 'text/plain');
    const notPdf = await test.call('GET', `/api/v1/files/${text}/preview`, { token: alice.token });
    expect(notPdf.statusCode).toBe(415);
    expect(notPdf.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });

    const broken = await upload(
      'broken.pdf',
      Buffer.from('%PDF-1.4\nthis is not really a PDF\n'),
      'application/pdf',
    );
    const unreadable = await test.call('GET', `/api/v1/files/${broken}/preview`, { token: alice.token });
    expect(unreadable.statusCode).toBe(422);
    expect(unreadable.json()).toMatchObject({ error: { code: 'preview_failed' } });
  });
});
