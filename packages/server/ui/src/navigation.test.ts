import { describe, expect, it } from 'vitest';
import { highlight, permalinkTarget, queryWords, roomMatch } from './navigation';

describe('search highlighting', () => {
  it('marks every word of the query, case and width aside, and keeps the rest as plain text', () => {
    expect(highlight('The Tower and the tower', queryWords('TOWER'))).toEqual([
      { text: 'The ', match: false },
      { text: 'Tower', match: true },
      { text: ' and the ', match: false },
      { text: 'tower', match: true },
    ]);
    expect(highlight('明日の会議は10時からです', queryWords('会議 10'))).toEqual([
      { text: '明日の', match: false },
      { text: '会議', match: true },
      { text: 'は', match: false },
      { text: '10', match: true },
      { text: '時からです', match: false },
    ]);
  });

  it('cuts a long text to a snippet around the first match; HTML stays text', () => {
    const parts = highlight(`${'filler words here '.repeat(10)}the <b>needle</b> at last`, ['needle']);
    expect(parts[0]?.text.startsWith('…')).toBe(true);
    expect(parts.find((part) => part.match)?.text).toBe('needle');
    expect(parts.map((part) => part.text).join('')).toContain('<b>needle</b>');
    expect(highlight('no words', [])).toEqual([{ text: 'no words', match: false }]);
  });
});

describe('room filtering', () => {
  it('ranks a prefix over a word prefix over a substring over letters in order', () => {
    expect(roomMatch('general', 'gen')).toBe(3);
    expect(roomMatch('team-design', 'des')).toBe(2);
    expect(roomMatch('general', 'era')).toBe(1);
    expect(roomMatch('general', 'gnrl')).toBe(0.5);
    expect(roomMatch('general', 'xyz')).toBe(0);
    expect(roomMatch('general', '#gen')).toBe(3);
  });
});

describe('permalinks', () => {
  it('finds the room and message of a permalink, and nothing in other addresses', () => {
    expect(permalinkTarget('/rooms/01ROOM', '?message=01MSG')).toEqual({
      roomId: '01ROOM',
      messageId: '01MSG',
    });
    expect(permalinkTarget('/rooms/01ROOM', '?thread=01MSG')).toBeNull();
    expect(permalinkTarget('/', '?message=01MSG')).toBeNull();
    expect(permalinkTarget('/rooms/01ROOM', '?message=<script>')).toBeNull();
  });
});
