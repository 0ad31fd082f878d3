import type { PhrasingContent, Table } from 'mdast';

/**
 * Lays a GFM table out as aligned monospace text, for platforms without tables.
 *
 * @example tableToText(table, plain) // 'a   | b\n----+--\n1   | 2'
 */
export function tableToText(table: Table, cellText: (cell: PhrasingContent[]) => string): string {
  const rows = table.children.map((row) => row.children.map((cell) => cellText(cell.children)));
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  const lines = rows.map((row) =>
    row
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join(' | ')
      .trimEnd(),
  );
  if (lines.length > 1) lines.splice(1, 0, widths.map((width) => '-'.repeat(width)).join('-+-'));
  return lines.join('\n');
}

/**
 * The plain text of phrasing content, with mentions and room links spelt `@name` / `#name`.
 *
 * @example phrasingText([{ type: 'mention', username: 'alice' }]) // '@alice'
 */
export function phrasingText(nodes: PhrasingContent[]): string {
  return nodes
    .map((node) => {
      if (node.type === 'text' || node.type === 'inlineCode') return node.value;
      if (node.type === 'mention') return `@${node.username}`;
      if (node.type === 'roomLink') return `#${node.name}`;
      if (node.type === 'break') return '\n';
      return 'children' in node ? phrasingText(node.children as PhrasingContent[]) : '';
    })
    .join('');
}
