import compact from 'emojibase-data/en/compact.json';
import { describe, expect, it } from 'vitest';
import { parseEmojiData, SKIN_TONES, withSkinTone } from './emoji-data';

interface EmojibaseEntry {
  label: string;
  hexcode: string;
  unicode: string;
  skins?: { hexcode: string; unicode: string }[];
}

const emojibase: EmojibaseEntry[] = compact;
const HEX_TONES = ['1F3FB', '1F3FC', '1F3FD', '1F3FE', '1F3FF'];

/** emojibase's own variant of an entry in one tone (every person in it in that tone). */
function variant(entry: EmojibaseEntry, tone: number): string | undefined {
  return entry.skins?.find((skin) => {
    const tones = skin.hexcode.split('-').filter((part) => HEX_TONES.includes(part));
    return tones.length > 0 && tones.every((part) => part === HEX_TONES[tone - 1]);
  })?.unicode;
}

describe('withSkinTone', () => {
  it("gives emojibase's own variant for each tone of every emoji with skins, but people holding hands", () => {
    const withSkins = emojibase.filter((entry) => entry.skins);
    const wrong = withSkins.filter((entry) =>
      [1, 2, 3, 4, 5].some((tone) => withSkinTone(entry.unicode, tone as 1) !== variant(entry, tone)),
    );
    expect(withSkins.length).toBeGreaterThan(300);
    expect(wrong.map((entry) => entry.label)).toEqual(['people holding hands']);
  });

  it('keeps the default yellow for tone 0, and puts the modifier where a U+FE0F was', () => {
    expect(withSkinTone('👋', 0)).toBe('👋');
    expect(withSkinTone('👋', 3)).toBe('👋🏽');
    expect(withSkinTone('☝️', 5)).toBe(`☝${SKIN_TONES[4]}`);
    expect(withSkinTone('🧑‍💻', 1)).toBe('🧑🏻‍💻');
  });

  it("reads the asset's sixth element as whether a tone applies", () => {
    const { emoji } = parseEmojiData({
      groups: ['people & body'],
      emoji: [
        ['👋', 'waving hand', 'wave', 0, 'hello', 1],
        ['🧑‍🤝‍🧑', 'people holding hands', 'people_holding_hands', 0, 'couple'],
      ],
    });
    expect(emoji.map((entry) => entry.skinTones)).toEqual([true, false]);
  });
});
