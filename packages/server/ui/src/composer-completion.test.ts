import { describe, expect, it } from 'vitest';
import {
  applyCompletion,
  BUILT_IN_COMMANDS,
  findTrigger,
  suggestCommands,
  suggestEmoji,
  suggestPeople,
  suggestRooms,
  workflowCommands,
} from './composer-completion';
import { type EmojiEntry, parseEmojiData, searchEmoji } from './emoji-data';

const people = [
  { id: 'u1', username: 'ada', displayName: 'Ada Lovelace' },
  { id: 'u2', username: 'alan', displayName: 'Alan Turing' },
  { id: 'u3', username: 'grace', displayName: 'Grace Hopper' },
  { id: 'me', username: 'admin', displayName: 'Admin' },
];

const emoji: EmojiEntry[] = parseEmojiData({
  groups: ['smileys & emotion', 'activities'],
  emoji: [
    ['😀', 'grinning face', 'grinning', 0, 'face grin'],
    ['🎉', 'party popper', 'tada', 1, 'celebration party popper'],
    ['🎊', 'confetti ball', 'confetti_ball', 1, 'ball celebration confetti'],
    ['👋', 'waving hand', 'wave', 0, 'bye hello hi'],
  ],
}).emoji;

describe('findTrigger', () => {
  it('finds @, #, : and / at the caret', () => {
    expect(findTrigger('hi @ad', 6)).toEqual({ kind: 'mention', query: 'ad', start: 3, end: 6 });
    expect(findTrigger('@', 1)).toEqual({ kind: 'mention', query: '', start: 0, end: 1 });
    expect(findTrigger('see #gen', 8)).toEqual({ kind: 'room', query: 'gen', start: 4, end: 8 });
    expect(findTrigger('great :ta', 9)).toEqual({ kind: 'emoji', query: 'ta', start: 6, end: 9 });
    expect(findTrigger('/ru', 3)).toEqual({ kind: 'command', query: 'ru', start: 0, end: 3 });
    expect(findTrigger('/run dep', 8)).toEqual({ kind: 'command', query: 'run dep', start: 0, end: 8 });
  });

  it('stays quiet inside words, times, short emoji queries and after the command', () => {
    expect(findTrigger('mail a@b', 8)).toBeNull();
    expect(findTrigger('at 12:30', 8)).toBeNull();
    expect(findTrigger('hi :t', 5)).toBeNull();
    expect(findTrigger('hi @ada and more', 16)).toBeNull();
    expect(findTrigger('say /run', 8)).toBeNull();
    expect(findTrigger('/run deploy now', 15)).toBeNull();
  });

  it('looks only before the caret', () => {
    expect(findTrigger('@ad rest', 3)).toEqual({ kind: 'mention', query: 'ad', start: 0, end: 3 });
    expect(findTrigger('@ad rest', 8)).toBeNull();
  });
});

describe('applyCompletion', () => {
  it('replaces the trigger and puts the caret after the insert', () => {
    const trigger = findTrigger('hi @ad', 6)!;
    expect(applyCompletion('hi @ad', trigger, '@ada ')).toEqual({ text: 'hi @ada ', caret: 8 });
  });

  it('keeps the text after the caret, without doubling a space', () => {
    const trigger = findTrigger('hi @ad there', 6)!;
    expect(applyCompletion('hi @ad there', trigger, '@ada ')).toEqual({ text: 'hi @ada there', caret: 8 });
  });
});

describe('suggestPeople', () => {
  it('matches usernames and display-name words, members first, not oneself', () => {
    const rows = suggestPeople('a', people, { meId: 'me', memberIds: new Set(['u2']) });
    expect(rows.map((row) => row.insert)).toEqual(['@alan ', '@ada ']);
    expect(suggestPeople('hop', people).map((row) => row.label)).toEqual(['Grace Hopper']);
  });

  it('offers @room and @here', () => {
    expect(suggestPeople('', people, { meId: 'me' }).map((row) => row.insert)).toEqual([
      '@ada ',
      '@alan ',
      '@grace ',
      '@room ',
      '@here ',
    ]);
    expect(suggestPeople('he', people).map((row) => row.label)).toEqual(['@here']);
  });
});

describe('suggestRooms', () => {
  it('puts prefix matches before inner matches', () => {
    const rooms = [
      { id: 'r1', name: 'engineering', topic: 'Builds' },
      { id: 'r2', name: 'general' },
      { id: 'r3', name: 'gen-z' },
    ];
    expect(suggestRooms('gen', rooms).map((row) => row.label)).toEqual(['#gen-z', '#general']);
    expect(suggestRooms('eng', rooms)[0]).toEqual({
      key: 'r1',
      label: '#engineering',
      detail: 'Builds',
      insert: '#engineering ',
    });
  });
});

describe('emoji', () => {
  it('finds by shortcode first, then name and tags', () => {
    expect(searchEmoji(emoji, 'tada').map((entry) => entry.emoji)).toEqual(['🎉']);
    expect(searchEmoji(emoji, 'celebration').map((entry) => entry.emoji)).toEqual(['🎉', '🎊']);
    expect(searchEmoji(emoji, 'hi').map((entry) => entry.emoji)).toEqual(['👋']);
    expect(searchEmoji(emoji, 'conf')[0]?.emoji).toBe('🎊');
  });

  it('inserts the character for :ta', () => {
    expect(suggestEmoji('ta', emoji)[0]).toEqual({
      key: '🎉',
      label: ':tada:',
      detail: 'party popper',
      emoji: '🎉',
      insert: '🎉 ',
    });
  });
});

describe('commands', () => {
  const workflows = [
    { id: 'deploy', name: 'Deploy', definition: { trigger: { type: 'command' } } },
    { id: 'triage', name: 'Triage', definition: { trigger: { type: 'command', name: 'bug' } } },
    { id: 'elsewhere', name: 'Elsewhere', definition: { trigger: { type: 'command', roomId: 'other' } } },
    { id: 'nightly', name: 'Nightly', definition: { trigger: { type: 'cron', schedule: '0 3 * * *' } } },
  ];

  it('lists /run for command-triggered workflows of this room', () => {
    expect(workflowCommands(workflows, 'room').map((command) => command.name)).toEqual([
      'run deploy',
      'run bug',
    ]);
  });

  it('filters by what was typed and inserts the command', () => {
    const commands = [...workflowCommands(workflows, 'room'), ...BUILT_IN_COMMANDS];
    expect(suggestCommands('r', commands).map((row) => row.insert)).toEqual(['/run deploy ', '/run bug ']);
    expect(suggestCommands('run b', commands).map((row) => row.label)).toEqual(['/run bug']);
    expect(suggestCommands('sh', commands)[0]?.insert).toBe('¯\\_(ツ)_/¯ ');
  });
});
