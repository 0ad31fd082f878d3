import { grayscaleTiff, imageOnlyPdf } from '@kaiwa/core/testing';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { startOpenAIEmbeddingsServer } from './test-support/openai-embeddings-server.js';
import { multipartBody, startTestServer, type TestServer } from './test-support.js';

/*
 * OCR's settings (KAIWA_OCR_*): parsed and checked at start, and applied to what knowledge reads. The server
 * runs with real OCR (tesseract.js with the installed English data) on TIFF images and a scanned PDF the
 * test draws, the PDF's pages rendered in the file previews' child process.
 */

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('OCR settings', () => {
  it("default to English and today's bounds", () => {
    expect(loadConfig({ env: {} }).ocr).toEqual({
      languages: ['eng'],
      maxPages: 50,
      pageTimeoutMs: 60_000,
      maxPixels: 25_000_000,
    });
  });

  it('read languages joined by + and the bounds in their units', () => {
    expect(
      loadConfig({
        env: {
          KAIWA_OCR_LANGUAGES: 'ENG+jpn',
          KAIWA_OCR_MAX_PAGES: '5',
          KAIWA_OCR_PAGE_TIMEOUT: '2m',
          KAIWA_OCR_MAX_MEGAPIXELS: '0.5',
        },
      }).ocr,
    ).toEqual({ languages: ['eng', 'jpn'], maxPages: 5, pageTimeoutMs: 120_000, maxPixels: 500_000 });
  });

  it('refuse at start a language whose trained data is not installed, and malformed values, naming each variable', () => {
    expect(problemsOf({ KAIWA_OCR_LANGUAGES: 'eng+deu' })).toEqual([
      'KAIWA_OCR_LANGUAGES: no trained data is installed for deu (OCR never downloads it; install @tesseract.js-data/deu next to the server, or leave it out)',
    ]);
    expect(
      problemsOf({
        KAIWA_OCR_LANGUAGES: 'english, german',
        KAIWA_OCR_MAX_PAGES: '0',
        KAIWA_OCR_PAGE_TIMEOUT: 'soon',
        KAIWA_OCR_MAX_MEGAPIXELS: 'lots',
      }),
    ).toEqual([
      'KAIWA_OCR_LANGUAGES: must be tesseract language codes joined by +, such as eng or eng+deu (got "english, german" from the environment)',
      'KAIWA_OCR_MAX_PAGES: must be at least 1 (got "0" from the environment)',
      'KAIWA_OCR_PAGE_TIMEOUT: must be a duration such as 900, 15m, 12h or 30d (got "soon" from the environment)',
      'KAIWA_OCR_MAX_MEGAPIXELS: must be a number of megapixels such as 25 or 0.5 (got "lots" from the environment)',
    ]);
  });
});

/** Lines of black text on white as 8-bit gray pixels. */
function grayText(lines: string[]): { gray: Uint8Array; width: number; height: number; jpeg: Buffer } {
  const canvas = createCanvas(900, 62 * lines.length + 56);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#000000';
  context.font = '28px DejaVu Sans';
  for (const [index, line] of lines.entries()) context.fillText(line, 28, 56 + index * 62);
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  const gray = new Uint8Array(canvas.width * canvas.height);
  for (let index = 0; index < gray.length; index++) gray[index] = data[index * 4] as number;
  return { gray, width: canvas.width, height: canvas.height, jpeg: canvas.toBuffer('image/jpeg', 95) };
}

describe('knowledge with configured OCR bounds', () => {
  let embeddings: Awaited<ReturnType<typeof startOpenAIEmbeddingsServer>>;
  let test: TestServer;
  let token = '';
  let roomId = '';

  beforeAll(async () => {
    embeddings = await startOpenAIEmbeddingsServer();
    const config = loadConfig({
      env: {
        KAIWA_EMBEDDINGS: embeddings.url,
        KAIWA_EMBEDDING_MODEL: 'hashed-ngrams',
        KAIWA_OCR_MAX_PAGES: '1',
        KAIWA_OCR_MAX_MEGAPIXELS: '2',
      },
    });
    test = await startTestServer({ embeddings: config.embeddings, ocr: config.ocr });
    token = (await test.signedIn('member')).token;
    roomId = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'scans' } })
    ).json().id;
    const chosen = await test.call('PUT', `/api/v1/rooms/${roomId}/knowledge`, {
      token,
      body: { messages: false, files: true },
    });
    expect(chosen.statusCode, chosen.body).toBe(200);
  });

  afterAll(async () => {
    await test?.close();
    embeddings?.server.close();
  });

  async function share(files: { name: string; type: string; content: Uint8Array }[]): Promise<string[]> {
    const ids: string[] = [];
    for (const file of files) {
      const { payload, headers } = multipartBody(
        { roomId },
        { name: file.name, type: file.type, content: Buffer.from(file.content) },
      );
      const response = await test.call('POST', '/api/v1/files', { token, body: payload, headers });
      expect(response.statusCode, response.body).toBe(201);
      ids.push(response.json().id);
    }
    const sent = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: 'scans attached', attachmentIds: ids },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    await test.server.knowledge?.idle();
    return ids;
  }

  it('reads TIFFs and scanned PDF pages within KAIWA_OCR_MAX_PAGES and KAIWA_OCR_MAX_MEGAPIXELS', async () => {
    const [tiff, fax, scan, poster] = await share([
      {
        name: 'boiler.tiff',
        type: 'image/tiff',
        content: grayscaleTiff([grayText(['Boiler room key is at reception'])]),
      },
      {
        name: 'fax.tiff',
        type: 'image/tiff',
        content: grayscaleTiff([grayText(['Fax page one']), grayText(['Fax page two'])]),
      },
      {
        name: 'scan.pdf',
        type: 'application/pdf',
        content: imageOnlyPdf([grayText(['The rooftop terrace closes at nine'])]),
      },
      {
        name: 'poster.tiff',
        type: 'image/tiff',
        content: grayscaleTiff([{ gray: new Uint8Array(1600 * 1600).fill(255), width: 1600, height: 1600 }]),
      },
    ]);
    const { documents } = (await test.call('GET', `/api/v1/rooms/${roomId}/knowledge`, { token })).json();
    expect(documents).toContainEqual(expect.objectContaining({ fileId: tiff, state: 'indexed', chunks: 1 }));
    expect(documents).toContainEqual(expect.objectContaining({ fileId: scan, state: 'indexed', chunks: 1 }));
    expect(documents).toContainEqual(
      expect.objectContaining({
        fileId: fax,
        state: 'skipped',
        code: 'too_large',
        reason: expect.stringMatching(/^fax\.tiff: the image has 2 pages .*over the limit of 1$/),
      }),
    );
    expect(documents).toContainEqual(
      expect.objectContaining({
        fileId: poster,
        state: 'skipped',
        code: 'too_large',
        reason: expect.stringMatching(/^poster\.tiff: .*1600×1600 pixels, over the limit of 2000000/),
      }),
    );

    const search = async (q: string) =>
      (await test.call('GET', `/api/v1/knowledge/search?q=${encodeURIComponent(q)}&k=5`, { token })).json()
        .passages as { text: string; source: { fileId?: string; page?: number } }[];
    const [key] = await search('boiler room key');
    expect(key?.source.fileId).toBe(tiff);
    expect(key?.text).toContain('Boiler room key');
    const [terrace] = await search('rooftop terrace closes');
    expect(terrace?.source).toMatchObject({ fileId: scan, page: 1 });
    expect(terrace?.text).toContain('rooftop terrace closes at nine');
  });
});

describe('the ocr workflow step under KAIWA_OCR_*', () => {
  let test: TestServer;

  beforeAll(async () => {
    const config = loadConfig({ env: { KAIWA_OCR_MAX_PAGES: '1', KAIWA_OCR_MAX_MEGAPIXELS: '2' } });
    test = await startTestServer({ ocr: config.ocr });
  });

  afterAll(async () => {
    await test?.close();
  });

  it('reads within the page and pixel bounds and fails a run past them, naming the field and limit', async () => {
    const admin = await test.signedIn('admin');
    const roomId = (
      await test.call('POST', '/api/v1/rooms', {
        token: admin.token,
        body: { kind: 'channel', name: 'faxes' },
      })
    ).json().id;
    const upload = async (name: string, content: Uint8Array): Promise<string> => {
      const { payload, headers } = multipartBody(
        { roomId },
        { name, type: 'image/tiff', content: Buffer.from(content) },
      );
      const answer = await test.call('POST', '/api/v1/files', { token: admin.token, body: payload, headers });
      expect(answer.statusCode, answer.body).toBe(201);
      return answer.json().id;
    };
    const defined = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: {
        id: 'read-scan',
        name: 'Read a scan',
        trigger: { type: 'manual' },
        steps: [{ id: 'ocr', type: 'ocr', input: { fileId: '{{ trigger.fileId }}' } }],
      },
    });
    expect(defined.statusCode, defined.body).toBe(201);
    const run = async (fileId: string) => {
      const started = await test.call('POST', '/api/v1/workflows/read-scan/runs', {
        token: admin.token,
        body: { trigger: { fileId } },
      });
      expect(started.statusCode, started.body).toBeLessThan(300);
      return test.server.workflows.engine.waitForRun(started.json().id, { timeoutMs: 60_000 });
    };

    const memo = await run(
      await upload('memo.tiff', grayscaleTiff([grayText(['Lockers are emptied on Friday'])])),
    );
    expect(memo.run.status).toBe('succeeded');
    expect(memo.steps[0]?.output).toMatchObject({ text: expect.stringContaining('Lockers are emptied') });

    const fax = await run(
      await upload('fax.tiff', grayscaleTiff([grayText(['Fax page one']), grayText(['Fax page two'])])),
    );
    expect(fax.run.status).toBe('failed');
    expect(fax.steps[0]?.error).toMatchObject({
      message: expect.stringMatching(/2 pages to read; at most 1/),
    });

    const poster = await run(
      await upload(
        'poster.tiff',
        grayscaleTiff([{ gray: new Uint8Array(1600 * 1600).fill(255), width: 1600, height: 1600 }]),
      ),
    );
    expect(poster.run.status).toBe('failed');
    expect(poster.steps[0]?.error).toMatchObject({
      message: expect.stringMatching(/1600×1600 pixels, over the limit of 2000000/),
    });
  }, 120_000);
});
