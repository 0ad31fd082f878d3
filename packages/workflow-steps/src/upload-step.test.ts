import { NotFoundError, ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingServiceError } from './errors.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';
import { renderTextPng } from './test-support/test-documents.js';
import { uploadStep } from './upload-step.js';

let harness: StepHarness;
beforeAll(async () => {
  harness = await openStepHarness();
});
afterAll(async () => {
  await harness?.close();
});

const SHA = 'a'.repeat(64);

describe('upload step', () => {
  it('takes a chat upload by file record id', async () => {
    const room = await harness.engine.createRoom(harness.admin.id, { kind: 'channel', name: 'scans' });
    const png = renderTextPng(['hello']);
    await harness.blobs.put('uploads/2026/scan', png);
    const file = await harness.engine.createFileRecord(harness.admin.id, {
      name: 'scan.png',
      mimeType: 'image/png',
      size: png.length,
      sha256: SHA,
      storageKey: 'uploads/2026/scan',
      roomId: room.id,
    });
    const output = await runStep(uploadStep, { fileId: file.id }, harness.context());
    expect(output).toEqual({
      fileId: file.id,
      key: 'uploads/2026/scan',
      name: 'scan.png',
      mimeType: 'image/png',
      size: png.length,
    });

    // Someone who cannot read the room cannot take its files either.
    const secret = await harness.engine.createRoom(harness.admin.id, { kind: 'group', name: 'secret-scans' });
    const hidden = await harness.engine.createFileRecord(harness.admin.id, {
      name: 'hidden.png',
      mimeType: 'image/png',
      size: png.length,
      sha256: SHA,
      storageKey: 'uploads/2026/scan',
      roomId: secret.id,
    });
    const outsider = await harness.engine.createUser({ username: 'outsider' });
    await expect(
      runStep(uploadStep, { fileId: hidden.id }, harness.context({ actorId: outsider.id })),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('takes a blob by key, guessing the type from its bytes', async () => {
    const pdf = Buffer.from('%PDF-1.4\n%…');
    await harness.blobs.put('inbox/INV-42', pdf);
    expect(await runStep(uploadStep, { key: 'inbox/INV-42' }, harness.context())).toEqual({
      key: 'inbox/INV-42',
      name: 'INV-42',
      mimeType: 'application/pdf',
      size: pdf.length,
    });
    expect(
      await runStep(
        uploadStep,
        { key: 'inbox/INV-42', name: 'invoice.pdf', mimeType: 'application/x-custom' },
        harness.context(),
      ),
    ).toMatchObject({ name: 'invoice.pdf', mimeType: 'application/x-custom' });
  });

  it('fails clearly on missing blobs, bad input and a missing blob store', async () => {
    await expect(runStep(uploadStep, { key: 'inbox/none' }, harness.context())).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(runStep(uploadStep, {}, harness.context())).rejects.toThrow(
      /fileId: give either fileId or key/,
    );
    await expect(runStep(uploadStep, { fileId: 'nope' }, harness.context())).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      runStep(
        uploadStep,
        { key: 'x' },
        harness.context({ services: { chat: harness.engine, store: harness.store } }),
      ),
    ).rejects.toBeInstanceOf(MissingServiceError);
  });
});
