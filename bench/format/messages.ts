/** Mixed Kaiwa markdown for the formatting benchmark: the same sections repeated. */
const SECTIONS: string[] = [
  '## Status report for #general\n\nThe **deploy** of `api-v2` finished at 14:02; @alice checked the *dashboards* and ~~nothing~~ all is green. See [the runbook](https://example.com/runbook) for details.',
  '- first item with **bold** text\n- second item with a [link](https://example.org)\n  - nested item 🎉\n- [ ] a task left open\n- [x] a task done',
  '```ts\nexport function add(a: number, b: number): number {\n  // the sum of two numbers\n  return a + b;\n}\nconst total = [1, 2, 3].reduce(add, 0);\n```',
  '> 引用: 本日のデプロイは正常に完了しました。\n> 次のリリースは来週の予定です 🚀',
  '日本語の段落です。チャットのメッセージは長くなることがあり、絵文字 👨‍👩‍👧‍👦 や旗 🇯🇵 も含まれます。@bob さん、確認をお願いします。',
  '1. step one: run `npm test`\n2. step two: read the *output*\n3. step three: fix 2*3*4 and snake_case_name',
  '| name | value |\n| --- | --- |\n| cpu | 42% |\n| memory | 1.2 GB |',
  'A plain paragraph with some punctuation: <b>not html</b>, a & b, 50% off, and a very long sentence that keeps going so the lines wrap somewhere in the middle of the text for realism.',
];

/** Mixed markdown of about `size` characters, cut at a section boundary. */
export function mixedMarkdown(size: number): string {
  const parts: string[] = [];
  let length = 0;
  for (let index = 0; length < size; index++) {
    const section = SECTIONS[index % SECTIONS.length]!;
    parts.push(section);
    length += section.length + 2;
  }
  return parts.join('\n\n');
}
