/** A passage the assistant may answer from, with where it is for a citation. */
export interface AssistantPassage {
  text: string;
  /** What a reader sees of the source, e.g. `#ops, 6 Dec 2026` or `runbook.pdf, page 2`. */
  title: string;
  /** Where the source is, e.g. `/rooms/<roomId>?message=<id>`. */
  link: string;
}

/**
 * Where the assistant finds knowledge: the passages relevant to a question asked in a room, as the asker may
 * read them. The server gives only the room's own sources, so an answer posted in the room never carries
 * text from a room its other readers cannot see.
 */
export interface AssistantKnowledge {
  /** Undefined when the room has no knowledge sources (the assistant then answers as usual). */
  passagesFor(request: {
    actorId: string;
    roomId: string;
    question: string;
    /** The asking message: not a source for its own answer. */
    messageId: string;
  }): Promise<AssistantPassage[] | undefined>;
}

/** What the assistant says when the room's knowledge holds nothing on the question: no guess. */
export const NOTHING_FOUND_ANSWER =
  "I found nothing about that in this room's knowledge, so I won't guess. Try other words, or ask a person.";

const MAX_PASSAGE_CHARACTERS = 1_500;

/**
 * The system prompt with the sources appended, numbered, and the rules for using them: answer from them only,
 * cite them as [1], [2], and say so when they do not hold the answer. As many passages as fit in `budget`
 * tokens are kept, most relevant first.
 *
 * @example
 * const prompt = promptWithSources(systemPrompt, passages, 1500, estimateTokens);
 */
export function promptWithSources(
  systemPrompt: string,
  passages: readonly AssistantPassage[],
  budget: number,
  countTokens: (text: string) => number,
): { prompt: string; used: AssistantPassage[] } {
  const rules =
    '\n\nAnswer from the sources below only. Cite each source you use with its number in brackets, like [1]. ' +
    'If the sources do not contain the answer, say that you could not find it instead of guessing.\n\nSources:';
  let prompt = `${systemPrompt}${rules}`;
  const used: AssistantPassage[] = [];
  for (const passage of passages) {
    const text =
      passage.text.length > MAX_PASSAGE_CHARACTERS
        ? `${passage.text.slice(0, MAX_PASSAGE_CHARACTERS)}…`
        : passage.text;
    const entry = `\n[${used.length + 1}] ${passage.title}\n${text}`;
    if (used.length > 0 && countTokens(prompt + entry) > budget) break;
    prompt += entry;
    used.push(passage);
  }
  return { prompt, used };
}

/**
 * The answer with its sources listed under it as Markdown links: those it cited ([n]), or every source it
 * was given when it cited none, so a reader can always check where an answer came from.
 *
 * @example
 * withSourceList('Backups go to glacier [1].', [{ title: '#ops', link: '/rooms/R?message=M', text }])
 * // 'Backups go to glacier [1].\n\nSources:\n[1] [#ops](/rooms/R?message=M)'
 */
export function withSourceList(
  answer: string,
  passages: readonly AssistantPassage[],
): { text: string; cited: { number: number; title: string; link: string }[] } {
  const citedNumbers = new Set(
    [...answer.matchAll(/\[(\d{1,2})\]/g)]
      .map((match) => Number(match[1]))
      .filter((number) => number >= 1 && number <= passages.length),
  );
  const numbers =
    citedNumbers.size > 0 ? [...citedNumbers].sort((a, b) => a - b) : passages.map((_, index) => index + 1);
  const cited = numbers.map((number) => {
    const passage = passages[number - 1] as AssistantPassage;
    return { number, title: passage.title, link: passage.link };
  });
  if (cited.length === 0) return { text: answer, cited };
  const list = cited
    .map(({ number, title, link }) => `[${number}] [${title.replace(/[[\]]/g, '')}](${link})`)
    .join('\n');
  return { text: `${answer.trimEnd()}\n\nSources:\n${list}`, cited };
}
