import { describe, expect, it } from 'vitest';
import { estimateTokens } from './context.js';
import { type AssistantPassage, promptWithSources, withSourceList } from './knowledge-prompt.js';

const passages: AssistantPassage[] = [
  { text: 'Backups go to glacier.', title: '#ops, 2026-12-06 10:00 UTC', link: '/rooms/R?message=M1' },
  { text: 'Lunch is at noon.', title: 'runbook.pdf, page 2', link: '/api/v1/files/F/content#page=2' },
];

describe('promptWithSources', () => {
  it('numbers the sources under the rules, as many as fit in the budget (always at least one)', () => {
    const { prompt, used } = promptWithSources('Be brief.', passages, 10_000, estimateTokens);
    expect(used).toEqual(passages);
    expect(prompt).toMatch(/^Be brief\.\n\nAnswer from the sources below only\./);
    expect(prompt).toContain('\n[1] #ops, 2026-12-06 10:00 UTC\nBackups go to glacier.');
    expect(prompt).toContain('\n[2] runbook.pdf, page 2\nLunch is at noon.');
    const tight = promptWithSources('Be brief.', passages, 1, estimateTokens);
    expect(tight.used).toEqual([passages[0]]);
  });
});

describe('withSourceList', () => {
  it('lists the sources the answer cited, as Markdown links', () => {
    const { text, cited } = withSourceList('Glacier [1].', passages);
    expect(text).toBe('Glacier [1].\n\nSources:\n[1] [#ops, 2026-12-06 10:00 UTC](/rooms/R?message=M1)');
    expect(cited).toEqual([{ number: 1, title: passages[0]?.title, link: passages[0]?.link }]);
  });

  it('lists every source when the answer cited none, and ignores numbers it was not given', () => {
    const { cited } = withSourceList('Somewhere [7].', passages);
    expect(cited.map((source) => source.number)).toEqual([1, 2]);
  });
});
