import type { List, ListItem } from 'mdast';

/** The box a GFM task list item starts with (`☑ ` done, `☐ ` open), or '' for a plain item. */
export function taskBox(item: ListItem): string {
  return item.checked === true ? '☑ ' : item.checked === false ? '☐ ' : '';
}

/**
 * Lays a list out as text lines, for platforms without list markup: `1.` or `•` markers, task boxes,
 * nested lists four spaces further in. `renderBlock` renders an item's other blocks; it gets the list's
 * indent and decides itself how far in they go.
 *
 * @example renderTextList(list, '', (block, indent) => render(block, `${indent}    `)) // '• one\n• two'
 */
export function renderTextList(
  list: List,
  indent: string,
  renderBlock: (block: Exclude<ListItem['children'][number], List>, indent: string) => string,
): string {
  const start = list.start ?? 1;
  return list.children
    .map((item, index) => {
      const marker = list.ordered ? `${start + index}.` : '•';
      const inner = item.children
        .map((child) =>
          child.type === 'list'
            ? renderTextList(child, `${indent}    `, renderBlock)
            : renderBlock(child, indent),
        )
        .join('\n');
      return `${indent}${marker} ${taskBox(item)}${inner}`;
    })
    .join('\n');
}
