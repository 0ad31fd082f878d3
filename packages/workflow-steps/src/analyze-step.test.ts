import { createOpenAICompatibleChatModel } from '@kaiwa/llm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { analyzeStep, matchLabel } from './analyze-step.js';
import { MissingServiceError, ModelOutputError } from './errors.js';
import { type ScriptedModelServer, startScriptedModelServer } from './test-support/scripted-model-server.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';

let harness: StepHarness;
let server: ScriptedModelServer;

beforeAll(async () => {
  harness = await openStepHarness();
  server = await startScriptedModelServer();
  harness.services.chatModel = createOpenAICompatibleChatModel({
    baseURL: server.baseURL,
    model: 'scripted',
    maxRetries: 0,
  });
});

afterAll(async () => {
  await server?.close();
  await harness?.close();
});

beforeEach(() => {
  server.replies.length = 0;
  server.requests.length = 0;
});

const invoice = 'ACME GmbH. Invoice number INV-2026-0042. Total 1,234.50 EUR.';

describe('analyze step', () => {
  it('summarises through the chat model', async () => {
    server.replies.push('  An invoice from ACME for 1,234.50 EUR.  ');
    const output = await runStep(
      analyzeStep,
      { task: 'summarize', text: invoice, instructions: 'One sentence.' },
      harness.context(),
    );
    expect(output).toEqual({ task: 'summarize', summary: 'An invoice from ACME for 1,234.50 EUR.' });
    expect(server.requests[0]?.messages[0]?.content).toContain('One sentence.');
    expect(server.requests[0]?.messages[1]).toEqual({ role: 'user', content: invoice });
  });

  it('classifies into one of the labels, also from a wordy answer', async () => {
    server.replies.push('"Invoice."', 'The text is clearly a receipt.');
    const labels = ['invoice', 'receipt', 'other'];
    await expect(
      runStep(analyzeStep, { task: 'classify', text: invoice, labels }, harness.context()),
    ).resolves.toEqual({
      task: 'classify',
      label: 'invoice',
    });
    await expect(
      runStep(analyzeStep, { task: 'classify', text: invoice, labels }, harness.context()),
    ).resolves.toEqual({
      task: 'classify',
      label: 'receipt',
    });
    expect(server.requests).toHaveLength(2);
  });

  it('asks once more, strictly, when the answer is no label', async () => {
    server.replies.push('Hard to say, maybe an invoice or a receipt.', 'invoice');
    const output = await runStep(
      analyzeStep,
      { task: 'classify', text: invoice, labels: ['invoice', 'receipt'] },
      harness.context(),
    );
    expect(output).toEqual({ task: 'classify', label: 'invoice' });
    expect(server.requests).toHaveLength(2);
    const retry = server.requests[1]?.messages ?? [];
    expect(retry.at(-2)).toEqual({
      role: 'assistant',
      content: 'Hard to say, maybe an invoice or a receipt.',
    });
    expect(retry.at(-1)?.content).toContain('exactly one of: invoice, receipt');
  });

  it('fails with a ModelOutputError at label when the retry is no label either', async () => {
    server.replies.push('banana', 'still banana');
    const error = await runStep(
      analyzeStep,
      { task: 'classify', text: invoice, labels: ['invoice', 'receipt'] },
      harness.context(),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelOutputError);
    expect((error as ModelOutputError).issues[0]?.path).toEqual(['label']);
    expect((error as ModelOutputError).reply).toBe('still banana');
    expect(analyzeStep.retryable?.(error)).toBe(false);
    expect(server.requests).toHaveLength(2);
  });

  it('checks its input and its services', async () => {
    await expect(runStep(analyzeStep, { task: 'classify', text: 'x' }, harness.context())).rejects.toThrow(
      /labels: classify needs labels/,
    );
    await expect(
      runStep(analyzeStep, { task: 'classify', text: 'x', labels: ['a', 'A'] }, harness.context()),
    ).rejects.toThrow(/must not repeat/);
    const error = await runStep(
      analyzeStep,
      { task: 'summarize', text: 'x' },
      harness.context({ services: { chat: harness.engine, store: harness.store } }),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingServiceError);
    expect((error as Error).message).toMatch(/analyze needs a chat model/);
  });
});

describe('matchLabel', () => {
  it('matches exact, quoted and single-word answers, never two labels', () => {
    expect(matchLabel('Receipt', ['invoice', 'receipt'])).toBe('receipt');
    expect(matchLabel('「請求書」', ['請求書', '領収書'])).toBe('請求書');
    expect(matchLabel('これは領収書です', ['請求書', '領収書'])).toBe('領収書');
    expect(matchLabel('invoice or receipt', ['invoice', 'receipt'])).toBeUndefined();
    expect(matchLabel('invoices', ['invoice', 'receipt'])).toBeUndefined();
  });
});
