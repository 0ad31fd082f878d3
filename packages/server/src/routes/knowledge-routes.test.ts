import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@kaiwa/core';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startOpenAIEmbeddingsServer } from '../test-support/openai-embeddings-server.js';
import { multipartBody, startTestServer, type TestServer } from '../test-support.js';

/*
 * Knowledge through the HTTP API, on a server whose KAIWA_EMBEDDINGS points at a local server that speaks the
 * OpenAI embeddings API (`POST /v1/embeddings`), answering with the hashed n-gram test embedding: the real
 * client, the real store (SQLite with its vector search), the real engine. Room owners choose the sources,
 * messages are indexed as they are written, edited and deleted, documents as they are shared; search never
 * returns a passage of a room the caller cannot read; an index a restart cut off is finished at start.
 */

interface Passage {
  text: string;
  link: string;
  source: { type: 'message'; roomId: string; messageIds: string[] } | { type: 'file'; fileId: string };
}

describe('knowledge routes', () => {
  let embeddings: Awaited<ReturnType<typeof startOpenAIEmbeddingsServer>>;
  let test: TestServer;
  let folder: string;
  const tokens: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };
  let opsId = '';
  let secretsId = '';

  const knowledgeEnv = (model = 'hashed-ngrams') =>
    loadConfig({
      env: {
        KAIWA_EMBEDDINGS: embeddings.url,
        KAIWA_EMBEDDING_MODEL: model,
        KAIWA_MAX_UPLOAD_BYTES: '1mb',
      },
    });
  const start = (model?: string) => {
    const { embeddings: settings } = knowledgeEnv(model);
    // Database and uploads outlive a server: the restarts below find what the one before wrote.
    return startTestServer({
      embeddings: settings,
      databaseUrl: join(folder, 'kaiwa.sqlite'),
      uploadDirectory: join(folder, 'uploads'),
    });
  };

  async function search(who: keyof typeof tokens, q: string): Promise<Passage[]> {
    const response = await test.call('GET', `/api/v1/knowledge/search?q=${encodeURIComponent(q)}&k=10`, {
      token: tokens[who],
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().passages;
  }

  async function send(who: keyof typeof tokens, roomId: string, body: object): Promise<Message> {
    const response = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token: tokens[who],
      body,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  const idle = () => test.server.knowledge?.idle();

  beforeAll(async () => {
    embeddings = await startOpenAIEmbeddingsServer();
    folder = mkdtempSync(join(tmpdir(), 'kaiwa-knowledge-routes-'));
    test = await start();
    let bobId = '';
    for (const name of ['alice', 'bob', 'carol'] as const) {
      const { token, user } = await test.signedIn('member');
      tokens[name] = token;
      if (name === 'bob') bobId = user.id;
    }
    opsId = (
      await test.call('POST', '/api/v1/rooms', {
        token: tokens.alice,
        body: { kind: 'channel', name: 'ops' },
      })
    ).json().id;
    expect((await test.call('POST', `/api/v1/rooms/${opsId}/join`, { token: tokens.bob })).statusCode).toBe(
      200,
    );
    const secrets = await test.call('POST', '/api/v1/rooms', {
      token: tokens.alice,
      body: { kind: 'group', name: 'secrets', memberIds: [bobId] },
    });
    expect(secrets.statusCode, secrets.body).toBe(201);
    secretsId = secrets.json().id;
  });

  afterAll(async () => {
    await test?.close();
    embeddings?.server.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('says what it indexes with, and answers 404 knowledge_off on a server without embeddings', async () => {
    const info = (await test.call('GET', '/api/v1/knowledge', { token: tokens.carol })).json();
    expect(info).toMatchObject({ enabled: true, model: 'openai-compatible:hashed-ngrams', dimensions: 96 });

    const plain = await startTestServer();
    try {
      const { token } = await plain.signedIn('member');
      expect((await plain.call('GET', '/api/v1/knowledge', { token })).json()).toEqual({
        enabled: false,
        model: null,
        dimensions: null,
        chunks: null,
      });
      const off = await plain.call('GET', '/api/v1/knowledge/search?q=anything', { token });
      expect(off.statusCode).toBe(404);
      expect(off.json().error.code).toBe('knowledge_off');
    } finally {
      await plain.close();
    }
  });

  it('lets only the room owner choose its sources, then indexes its history: threads keep question and answer together', async () => {
    const question = await send('alice', opsId, {
      text: 'Where do the nightly backups of the warehouse go?',
    });
    const answer = await send('bob', opsId, {
      text: 'To the cold-storage bucket called glacier-seven',
      threadRootId: question.id,
    });
    await send('alice', secretsId, { text: 'The warehouse alarm code is 4711' });
    expect(await search('carol', 'warehouse backups glacier')).toEqual([]);

    const refused = await test.call('PUT', `/api/v1/rooms/${opsId}/knowledge`, {
      token: tokens.bob,
      body: { messages: true, files: true },
    });
    expect(refused.statusCode).toBe(403);
    const bad = await test.call('PUT', `/api/v1/rooms/${opsId}/knowledge`, {
      token: tokens.alice,
      body: { messages: 'yes' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('messages');

    for (const roomId of [opsId, secretsId]) {
      const chosen = await test.call('PUT', `/api/v1/rooms/${roomId}/knowledge`, {
        token: tokens.alice,
        body: { messages: true, files: true },
      });
      expect(chosen.statusCode, chosen.body).toBe(200);
      expect(chosen.json()).toMatchObject({ messages: true, files: true });
    }
    await idle();
    const status = (
      await test.call('GET', `/api/v1/rooms/${opsId}/knowledge`, { token: tokens.carol })
    ).json();
    expect(status).toMatchObject({ messages: true, files: true, indexing: { state: 'done', messages: 1 } });

    const found = await search('carol', 'warehouse nightly backups glacier');
    const thread = found.find((passage) => passage.text.includes('glacier-seven'));
    expect(thread?.text).toContain('Where do the nightly backups of the warehouse go?');
    expect(thread?.source).toEqual({ type: 'message', roomId: opsId, messageIds: [question.id, answer.id] });
    expect(thread?.link).toBe(`/rooms/${opsId}?message=${question.id}`);
    // Carol is not in #secrets: its passage is never hers, however near; Bob is, and finds it.
    expect(found.some((passage) => passage.text.includes('4711'))).toBe(false);
    expect(
      (await search('carol', 'warehouse alarm code')).some((passage) => passage.text.includes('4711')),
    ).toBe(false);
    expect(
      (await search('bob', 'warehouse alarm code')).some((passage) => passage.text.includes('4711')),
    ).toBe(true);
  });

  it('follows messages as they are sent, edited and deleted, and documents as they are shared', async () => {
    const sent = await send('bob', opsId, { text: 'The forklift batteries are charged in bay twelve' });
    await idle();
    expect((await search('carol', 'forklift batteries bay')).some((p) => p.text.includes('bay twelve'))).toBe(
      true,
    );

    const edited = await test.call('PATCH', `/api/v1/messages/${sent.id}`, {
      token: tokens.bob,
      body: { text: 'The forklift batteries are charged in bay three now' },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    await idle();
    const afterEdit = await search('carol', 'forklift batteries bay');
    expect(afterEdit.some((p) => p.text.includes('bay three'))).toBe(true);
    expect(afterEdit.some((p) => p.text.includes('bay twelve'))).toBe(false);

    expect((await test.call('DELETE', `/api/v1/messages/${sent.id}`, { token: tokens.bob })).statusCode).toBe(
      200,
    );
    await idle();
    expect((await search('carol', 'forklift batteries bay')).some((p) => p.text.includes('forklift'))).toBe(
      false,
    );

    const { payload, headers } = multipartBody(
      { roomId: opsId },
      {
        name: 'runbook.md',
        type: 'text/markdown',
        content: '# Runbook\n\n## Power outage\n\nStart the diesel generator behind loading dock B.',
      },
    );
    const file = (
      await test.call('POST', '/api/v1/files', { token: tokens.alice, body: payload, headers })
    ).json();
    await send('alice', opsId, { text: 'runbook attached', attachmentIds: [file.id] });
    await idle();
    const document = (await search('carol', 'power outage diesel generator')).find(
      (passage) => passage.source.type === 'file',
    );
    expect(document?.source).toMatchObject({ type: 'file', fileId: file.id });
    expect(document?.text).toContain('loading dock B');
    expect(document?.link).toBe(`/api/v1/files/${file.id}/content`);
  });

  it('reads an image shared in a room through OCR, and says why a document was skipped', async () => {
    const upload = async (name: string, type: string, content: Buffer) => {
      const { payload, headers } = multipartBody({ roomId: opsId }, { name, type, content });
      const response = await test.call('POST', '/api/v1/files', {
        token: tokens.alice,
        body: payload,
        headers,
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { id: string };
    };
    const canvas = createCanvas(900, 90);
    const context = canvas.getContext('2d');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = '#000000';
    context.font = '28px DejaVu Sans';
    context.fillText('The evacuation assembly point is the north lawn', 28, 56);
    const image = await upload('assembly.png', 'image/png', canvas.toBuffer('image/png'));
    // A PNG's signature and then nothing of an image: stored as image/png, unreadable to the OCR.
    const broken = await upload(
      'broken.png',
      'image/png',
      Buffer.concat([canvas.toBuffer('image/png').subarray(0, 64), Buffer.from('cut off here')]),
    );
    await send('alice', opsId, { text: 'signs attached', attachmentIds: [image.id, broken.id] });
    await idle();

    const found = (await search('carol', 'evacuation assembly point')).find(
      (passage) => passage.source.type === 'file' && passage.source.fileId === image.id,
    );
    expect(found?.text).toContain('assembly point is the north lawn');
    const status = (
      await test.call('GET', `/api/v1/rooms/${opsId}/knowledge`, { token: tokens.carol })
    ).json();
    expect(status.documents).toContainEqual(
      expect.objectContaining({ fileId: image.id, name: 'assembly.png', state: 'indexed', chunks: 1 }),
    );
    expect(status.documents).toContainEqual(
      expect.objectContaining({
        fileId: broken.id,
        state: 'skipped',
        code: 'unreadable',
        reason: expect.stringMatching(/^broken\.png: .*not a readable image/),
      }),
    );
  });

  it('deletes what a room turns off', async () => {
    const before = (await test.call('GET', '/api/v1/knowledge', { token: tokens.alice })).json().chunks;
    const off = await test.call('PUT', `/api/v1/rooms/${opsId}/knowledge`, {
      token: tokens.alice,
      body: { messages: false, files: true },
    });
    expect(off.json()).toMatchObject({ messages: false, files: true, indexing: null });
    expect(off.json().documents).toContainEqual(
      expect.objectContaining({ name: 'runbook.md', state: 'indexed', chunks: 1 }),
    );
    await idle();
    expect(
      (await search('carol', 'warehouse nightly backups glacier')).some((p) => p.text.includes('glacier')),
    ).toBe(false);
    // The runbook stays: only the messages were turned off.
    expect((await search('carol', 'diesel generator')).some((p) => p.source.type === 'file')).toBe(true);
    const after = (await test.call('GET', '/api/v1/knowledge', { token: tokens.alice })).json().chunks;
    expect(after).toBeLessThan(before);
  });

  it('finishes at start an index that failed or was cut off', async () => {
    embeddings.state.failing = true;
    const chosen = await test.call('PUT', `/api/v1/rooms/${opsId}/knowledge`, {
      token: tokens.alice,
      body: { messages: true, files: true },
    });
    expect(chosen.json().indexing.state).toBe('indexing');
    await idle();
    const failed = (
      await test.call('GET', `/api/v1/rooms/${opsId}/knowledge`, { token: tokens.alice })
    ).json();
    expect(failed.indexing.state).toBe('failed');
    expect(failed.indexing.error).toBeTruthy();
    await test.close();

    embeddings.state.failing = false;
    test = await start();
    for (const name of ['alice', 'bob', 'carol'] as const)
      tokens[name] = (await test.signedIn('member')).token;
    await idle();
    const done = (await test.call('GET', `/api/v1/rooms/${opsId}/knowledge`, { token: tokens.carol })).json();
    expect(done.indexing.state).toBe('done');
    expect(
      (await search('carol', 'warehouse nightly backups glacier')).some((p) => p.text.includes('glacier')),
    ).toBe(true);
  });

  it('indexes everything again into a new index when the embedding model changes, never mixing the two', async () => {
    await test.close();
    test = await start('hashed-ngrams-v2');
    for (const name of ['alice', 'bob', 'carol'] as const)
      tokens[name] = (await test.signedIn('member')).token;
    await idle();
    const info = (await test.call('GET', '/api/v1/knowledge', { token: tokens.carol })).json();
    expect(info.model).toBe('openai-compatible:hashed-ngrams-v2');
    const status = (
      await test.call('GET', `/api/v1/rooms/${opsId}/knowledge`, { token: tokens.carol })
    ).json();
    expect(status.indexing).toMatchObject({ state: 'done' });
    const found = await search('carol', 'warehouse nightly backups glacier');
    expect(found.some((passage) => passage.text.includes('glacier'))).toBe(true);
    expect((await search('carol', 'diesel generator')).some((p) => p.source.type === 'file')).toBe(true);
  });
});
