import { parseKaiwaMarkdown } from '@kaiwa/platform-format';
import { describe, expect, it } from 'vitest';
import { parseMessage, plainTextTree } from './parse-message';

/** A tree without source positions (the parser's has them; nothing renders them). */
function withoutPositions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutPositions);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'position')
      .map(([key, value]) => [key, withoutPositions(value)]),
  );
}

const PLAIN = [
  'ok, deploy at 10:00',
  'message 12: the deploy and the review are on track',
  'Looks good to me!',
  'Is it (really) done? I think so.',
  'It\'s 3.5 times faster; we\'re "done"',
  '会議は10時からです。よろしくお願いします',
  'Grüße aus München, bis später',
  'thanks 🎉🎉',
  '👍',
  'see you at 9:30 :tada:',
  '2024 was a good year',
  'v1.2.3 is out',
  'a  b   c',
  'ends with a colon:',
];

const NOT_PLAIN = [
  '**bold** text',
  'some _emphasis_ here',
  'a ~~strike~~',
  'inline `code`',
  '# heading',
  '> quote',
  '- item',
  '+ item',
  '* item',
  '1. first',
  '2) second',
  '---',
  'hi @alice',
  'in #general',
  'https://example.com',
  'see www.example.com today',
  'WWW.EXAMPLE.COM',
  'mail me: a@example.com',
  '[link](https://example.com)',
  '![image](x.png)',
  'a | b',
  'AT&amp;T',
  'a <b>tag</b>',
  'escaped \\*stars\\*',
  'two\nlines',
  'tab\there',
  ' leading space',
  'trailing space ',
  '',
];

describe('plainTextTree', () => {
  it.each(PLAIN)('gives what the parser gives for %j', (text) => {
    const tree = plainTextTree(text);
    expect(tree).toBeDefined();
    expect(tree).toEqual(withoutPositions(parseKaiwaMarkdown(text)));
  });

  it.each(NOT_PLAIN)('leaves %j to the parser', (text) => {
    expect(plainTextTree(text)).toBeUndefined();
  });

  it('gives what the parser gives for every line it takes, of 2,000 mixed ones', () => {
    // Deterministic (a linear congruential generator): words, digits, punctuation, markup, CJK, emoji.
    const pieces = [
      'deploy',
      'Review',
      '12',
      '3.',
      '1)',
      ':',
      ':tada:',
      ',',
      '.',
      '!',
      '?',
      "'",
      '"',
      '(',
      ')',
      ';',
      '会議',
      '🎉',
      '*',
      '_',
      '~',
      '`',
      '@ada',
      '#room',
      '-',
      '+',
      '<',
      '&',
      '|',
      '[',
      ']',
      '/',
      'www.',
      'http://x.io',
      '\\',
      '  ',
      ' ',
      '%',
      '$',
      '^',
      '=',
      '§',
      'ß',
      'x:y:z',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed;
    };
    let taken = 0;
    for (let index = 0; index < 2_000; index += 1) {
      const length = 1 + (next() % 8);
      const text = Array.from({ length }, () => pieces[next() % pieces.length]).join(next() % 3 ? ' ' : '');
      const tree = plainTextTree(text);
      if (!tree) continue;
      taken += 1;
      expect({ text, tree }).toEqual({ text, tree: withoutPositions(parseKaiwaMarkdown(text)) });
    }
    expect(taken).toBeGreaterThan(100);
  });

  it('counts a plain line of emoji as emoji only, and turns shortcodes into emoji', () => {
    expect(parseMessage('🎉🎉').emojiOnly).toBe(2);
    const [paragraph] = parseMessage('done :tada:').tree.children;
    expect(paragraph).toEqual({ type: 'paragraph', children: [{ type: 'text', value: 'done 🎉' }] });
  });
});
