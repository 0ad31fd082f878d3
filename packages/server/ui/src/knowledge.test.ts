import { describe, expect, it } from 'vitest';
import { askCommand, askKnowledge, bestMessage, takePendingQuestion } from './knowledge';
import { navigation } from './navigation';

describe('askCommand', () => {
  it.each([
    ['/ask where is the backup key?', 'where is the backup key?'],
    ['  /ask   where is\nthe key  ', 'where is\nthe key'],
    ['/ASK Wo ist der Schlüssel?', 'Wo ist der Schlüssel?'],
    ['/ask バックアップの鍵はどこ？', 'バックアップの鍵はどこ？'],
    ['/ask', ''],
    ['/ask   ', ''],
  ])('reads %j as the question %j', (text, question) => {
    expect(askCommand(text)).toBe(question);
  });

  it.each(['ask where', '/asking for a friend', '/shrug', 'see /ask later', ''])(
    'leaves %j alone',
    (text) => {
      expect(askCommand(text)).toBeNull();
    },
  );
});

describe('askKnowledge', () => {
  it('opens the search with the question, handed over once', () => {
    navigation.openSwitcher();
    askKnowledge('where is the key?');
    expect(navigation.state).toMatchObject({ search: true, switcher: false });
    expect(takePendingQuestion()).toBe('where is the key?');
    expect(takePendingQuestion()).toBeNull();
    navigation.openSearch(false);
  });
});

describe('bestMessage', () => {
  const lunch = { id: '1', text: 'Lunch on Friday is at noon in the big meeting room.' };
  const key = { id: '2', text: 'The backup key is kept in the red safe.' };
  const deploy = { id: '3', text: 'Deploy 3: the pipeline is green.' };

  it('picks the message sharing the most of the question', () => {
    expect(bestMessage('where is the backup key?', [lunch, key, deploy])).toBe(key);
    expect(bestMessage('When is lunch?', [deploy, key, lunch])).toBe(lunch);
  });

  it('reads Japanese by bigrams', () => {
    const japanese = { id: '4', text: 'バックアップの鍵は赤い金庫にあります。' };
    const other = { id: '5', text: '昼食は正午です。' };
    expect(bestMessage('バックアップの鍵はどこ？', [other, japanese])).toBe(japanese);
  });

  it('keeps the first on a tie, and has nothing to pick from nothing', () => {
    expect(bestMessage('unrelated words', [lunch, key])).toBe(lunch);
    expect(bestMessage('anything', [])).toBeUndefined();
  });
});
