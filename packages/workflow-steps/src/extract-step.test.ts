import { ValidationError } from '@kaiwa/core';
import { createOpenAICompatibleChatModel } from '@kaiwa/llm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelOutputError } from './errors.js';
import { extractStep, resolvePointer } from './extract-step.js';
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

const text = 'ACME GmbH\nInvoice number INV-2026-0042\nDate 2026-11-25\nTotal 1,234.50 EUR\n';

describe('extract step: regex', () => {
  it('turns named groups into fields', async () => {
    const output = await runStep(
      extractStep,
      { mode: 'regex', text, pattern: 'total\\s+(?<amount>[\\d.,]+)\\s*(?<currency>[A-Z]{3})', flags: 'i' },
      harness.context(),
    );
    expect(output).toEqual({
      fields: { amount: '1,234.50', currency: 'EUR' },
      matched: true,
      match: 'Total 1,234.50 EUR',
    });
  });

  it('collects every match with all', async () => {
    const output = await runStep(
      extractStep,
      { mode: 'regex', text, pattern: '(?<year>\\d{4})-', all: true },
      harness.context(),
    );
    expect(output.matches?.map((match) => match.fields.year)).toEqual(['2026', '2026']);
  });

  it('fails on no match unless the match is optional', async () => {
    await expect(
      runStep(extractStep, { mode: 'regex', text, pattern: 'IBAN (?<iban>\\w+)' }, harness.context()),
    ).rejects.toThrow(/pattern: the pattern does not match/);
    const optional = await runStep(
      extractStep,
      { mode: 'regex', text, pattern: 'IBAN (?<iban>\\w+)', required: false },
      harness.context(),
    );
    expect(optional).toEqual({ fields: {}, matched: false });
  });

  it('refuses patterns that could backtrack forever, long patterns and bad flags', async () => {
    for (const pattern of ['(a+)+$', '(\\w*)*x', '(x+){2,}', 'a'.repeat(501)]) {
      const error = await runStep(extractStep, { mode: 'regex', text, pattern }, harness.context()).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.path).toEqual(['pattern']);
    }
    await expect(
      runStep(extractStep, { mode: 'regex', text, pattern: 'a', flags: 'g' }, harness.context()),
    ).rejects.toThrow(/flags/);
    await expect(
      runStep(extractStep, { mode: 'regex', text, pattern: '(?<a>' }, harness.context()),
    ).rejects.toThrow(/pattern: Invalid regular expression/);
  });
});

describe('extract step: JSON pointer', () => {
  const document = { invoice: { total: 1234.5, 'a/b': 1, 'm~n': 2, lines: [{ sku: 'X1' }, { sku: 'Y2' }] } };

  it('reads RFC 6901 pointers from JSON values and JSON text', async () => {
    const pointers = {
      total: '/invoice/total',
      slash: '/invoice/a~1b',
      tilde: '/invoice/m~0n',
      sku: '/invoice/lines/1/sku',
    };
    const expected = { total: 1234.5, slash: 1, tilde: 2, sku: 'Y2' };
    expect(
      await runStep(extractStep, { mode: 'jsonPointer', json: document, pointers }, harness.context()),
    ).toEqual({
      fields: expected,
    });
    expect(
      await runStep(
        extractStep,
        { mode: 'jsonPointer', json: JSON.stringify(document), pointers },
        harness.context(),
      ),
    ).toEqual({ fields: expected });
  });

  it('names what is missing', async () => {
    const error = await runStep(
      extractStep,
      { mode: 'jsonPointer', json: document, pointers: { due: '/invoice/due' } },
      harness.context(),
    ).catch((e) => e);
    expect((error as ValidationError).issues[0]).toEqual({
      path: ['pointers', 'due'],
      message: 'nothing at /invoice/due',
    });
    await expect(
      runStep(extractStep, { mode: 'jsonPointer', json: '{oops', pointers: { a: '/a' } }, harness.context()),
    ).rejects.toThrow(/json: not valid JSON/);
    expect(resolvePointer(document, '/invoice/lines/01')).toBeUndefined();
    expect(resolvePointer(document, '/invoice/lines/-')).toBeUndefined();
    expect(resolvePointer(document, '')).toBe(document);
  });
});

describe('extract step: LLM with a JSON Schema', () => {
  const schema = {
    type: 'object',
    properties: {
      number: { type: 'string', pattern: '^INV-' },
      amount: { type: 'number', exclusiveMinimum: 0 },
    },
    required: ['number', 'amount'],
    additionalProperties: false,
  };

  it('parses and validates the answer, fenced or not', async () => {
    server.replies.push('Here you go:\n```json\n{"number": "INV-2026-0042", "amount": 1234.5}\n```');
    const output = await runStep(extractStep, { mode: 'llm', text, schema }, harness.context());
    expect(output).toEqual({ fields: { number: 'INV-2026-0042', amount: 1234.5 } });
    expect(server.requests[0]?.messages[0]?.content).toContain('"exclusiveMinimum":0');
  });

  it('repairs once, telling the model what was wrong', async () => {
    server.replies.push(
      '{"number": "INV-2026-0042", "amount": "1,234.50"}',
      '{"number": "INV-2026-0042", "amount": 1234.5}',
    );
    const output = await runStep(extractStep, { mode: 'llm', text, schema }, harness.context());
    expect(output.fields.amount).toBe(1234.5);
    expect(server.requests[1]?.messages.at(-1)?.content).toMatch(/invalid: \/amount must be number/);
  });

  it('fails with a ModelOutputError after the repair fails', async () => {
    server.replies.push('no idea', 'still no idea');
    const error = await runStep(extractStep, { mode: 'llm', text, schema }, harness.context()).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ModelOutputError);
    expect((error as ModelOutputError).issues[0]?.path).toEqual(['schema']);
    expect((error as ModelOutputError).message).toMatch(/not JSON/);
  });

  it('refuses an invalid schema before calling the model', async () => {
    await expect(
      runStep(
        extractStep,
        { mode: 'llm', text, schema: { type: 'object', propertys: {} } },
        harness.context(),
      ),
    ).rejects.toThrow(/schema: not a valid JSON Schema/);
    expect(server.requests).toHaveLength(0);
  });
});
