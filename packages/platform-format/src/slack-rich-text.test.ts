import { describe, expect, it } from 'vitest';
import { fromSlackBlocks } from './slack-rich-text.js';

const names = {
  userName: (id: string) => (id === 'U0ALICE' ? 'alice' : undefined),
  channelName: (id: string) => (id === 'C0GENERAL' ? 'general' : undefined),
};

describe('fromSlackBlocks: rich_text → Kaiwa markdown', () => {
  it('reads styles, mentions, links, emoji and literal characters exactly', () => {
    const blocks = [
      {
        type: 'rich_text',
        block_id: 'b1',
        elements: [
          {
            type: 'rich_text_section',
            elements: [
              { type: 'text', text: 'Hi ' },
              { type: 'user', user_id: 'U0ALICE' },
              { type: 'text', text: ', see ' },
              { type: 'channel', channel_id: 'C0GENERAL' },
              { type: 'text', text: ' ' },
              { type: 'text', text: 'bold', style: { bold: true } },
              { type: 'text', text: ' ' },
              { type: 'text', text: 'both', style: { bold: true, italic: true } },
              { type: 'text', text: ' 2*3*4 *not bold* <b> & ' },
              { type: 'text', text: 'a*b', style: { code: true } },
              { type: 'text', text: ' ' },
              { type: 'link', url: 'https://kaiwa.dev/?a=1&b=2', text: 'docs' },
              { type: 'text', text: ' ' },
              { type: 'emoji', name: 'tada', unicode: '1f389' },
              { type: 'emoji', name: 'rocket' },
              { type: 'text', text: ' 会話\n\nnext ' },
              { type: 'broadcast', range: 'here' },
            ],
          },
          {
            type: 'rich_text_list',
            style: 'bullet',
            indent: 0,
            elements: [
              { type: 'rich_text_section', elements: [{ type: 'text', text: 'one' }] },
              {
                type: 'rich_text_section',
                elements: [{ type: 'text', text: 'two', style: { strike: true } }],
              },
            ],
          },
          {
            type: 'rich_text_list',
            style: 'ordered',
            indent: 1,
            elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'nested' }] }],
          },
          {
            type: 'rich_text_quote',
            elements: [
              { type: 'text', text: 'quoted ' },
              { type: 'user', user_id: 'U0BOB' },
            ],
          },
          {
            type: 'rich_text_preformatted',
            elements: [{ type: 'text', text: 'const a = *b*;\n<@U0ALICE>' }],
          },
        ],
      },
    ];
    expect(fromSlackBlocks(blocks, names)).toBe(
      [
        'Hi @alice, see #general **bold** ***both*** 2\\*3\\*4 \\*not bold\\* \\<b> & `a*b` [docs](https://kaiwa.dev/?a=1\\&b=2) 🎉🚀 会話',
        '',
        'next @here',
        '',
        '- one',
        '- ~~two~~',
        '  1. nested',
        '',
        '> quoted \\@U0BOB',
        '',
        '```',
        'const a = *b*;',
        '<@U0ALICE>',
        '```',
      ].join('\n'),
    );
  });

  it('returns undefined without rich_text blocks', () => {
    expect(fromSlackBlocks([{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }])).toBeUndefined();
  });
});
