import type { KaiwaChatClient, KnowledgeInfo } from '@kaiwa/client';
import { useEffect, useState } from 'preact/hooks';
import { useController } from './hooks';
import { navigation } from './navigation';

/*
 * Knowledge in the web chat: whether the server has it (asked once per chat client), the `/ask <question>`
 * command of the message box, and the question it hands to the search panel, which opens in its Ask mode.
 * The views are components/RoomKnowledgeSettings.tsx (a room's sources) and components/SearchPanel.tsx.
 */

const NO_KNOWLEDGE: KnowledgeInfo = { enabled: false, model: null, dimensions: null, chunks: null };
const infos = new WeakMap<KaiwaChatClient, Promise<KnowledgeInfo>>();

/** Whether this server has knowledge; null until it answered (an older server, or a failure: off). */
export function useKnowledgeInfo(): KnowledgeInfo | null {
  const controller = useController();
  const [info, setInfo] = useState<KnowledgeInfo | null>(null);
  useEffect(() => {
    let request = infos.get(controller);
    if (!request) {
      request = controller.rest.knowledgeInfo().catch(() => NO_KNOWLEDGE);
      infos.set(controller, request);
    }
    let live = true;
    void request.then((answer) => live && setInfo(answer));
    return () => {
      live = false;
    };
  }, [controller]);
  return info;
}

const ASK = /^\/ask(?:\s+([\s\S]*))?$/i;

/**
 * The question of an `/ask` command typed in the message box, or null for any other text.
 *
 * @example askCommand('/ask where is the backup key?') // 'where is the backup key?'
 */
export function askCommand(text: string): string | null {
  const match = ASK.exec(text.trim());
  return match ? (match[1] ?? '').trim() : null;
}

/** The question for the search panel to ask when it opens next. */
let pendingQuestion: string | null = null;

/** Opens the search panel in its Ask mode, asking `question` (when not empty). */
export function askKnowledge(question: string): void {
  pendingQuestion = question;
  navigation.openSearch(true);
}

/** The question handed over by `askKnowledge`, once; null when the panel was opened otherwise. */
export function takePendingQuestion(): string | null {
  const question = pendingQuestion;
  pendingQuestion = null;
  return question;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** The terms of a question to look for in a message: its words, and for Chinese, Japanese and Korean, bigrams. */
function questionTerms(question: string): string[] {
  const terms = new Set<string>();
  for (const word of question
    .normalize('NFKC')
    .toLowerCase()
    .match(/[\p{L}\p{N}\p{M}]+/gu) ?? []) {
    const characters = [...word];
    if (!CJK.test(word)) {
      if (characters.length >= 3) terms.add(word);
      continue;
    }
    for (let index = 0; index + 2 <= characters.length; index++)
      terms.add(characters.slice(index, index + 2).join(''));
  }
  return [...terms];
}

/**
 * Of a passage's messages, the one that answers the question best (the most and longest of its terms),
 * the first on a tie: a passage holds several messages, and a jump should land on the one that matters.
 *
 * @example bestMessage('where is the backup key?', [lunch, backupKey]) // backupKey
 */
export function bestMessage<T extends { text: string }>(
  question: string,
  messages: readonly T[],
): T | undefined {
  const terms = questionTerms(question);
  let best: T | undefined;
  let bestScore = -1;
  for (const message of messages) {
    const text = message.text.normalize('NFKC').toLowerCase();
    let score = 0;
    for (const term of terms) if (text.includes(term)) score += [...term].length;
    if (score > bestScore) {
      best = message;
      bestScore = score;
    }
  }
  return best;
}
