import { describe, expect, it } from 'vitest';
import { parseMentions } from './mentions.js';

describe('parseMentions', () => {
  it('finds users, @room and @here, lower-cased and once each', () => {
    expect(parseMentions('@Alice hi @bob, @alice again. @room @here')).toEqual({
      usernames: ['alice', 'bob'],
      room: true,
      here: true,
    });
  });

  it('ignores e-mail addresses, paths and code', () => {
    const text = 'mail me at carol@example.com or see a/@dave\n```\n@erin\n```\nand `@frank` but @gina.';
    expect(parseMentions(text)).toEqual({ usernames: ['gina'], room: false, here: false });
  });

  it('accepts mentions after Japanese text and punctuation', () => {
    expect(parseMentions('こんにちは、@taro さん（@hanako）').usernames).toEqual(['taro', 'hanako']);
  });

  it('keeps dots and dashes inside names but not at their end', () => {
    expect(parseMentions('ping @jan.de-vries- and @x.').usernames).toEqual(['jan.de-vries']);
  });
});
