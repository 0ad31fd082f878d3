/*
 * The arithmetic of the virtualised timeline: where each row sits, which rows to render for a scroll
 * position, and when the rendered rows no longer cover the view. Pure, so it is tested in Node; the DOM side
 * (measuring rows, keeping the reader's place) is in components/RoomView.tsx.
 */

/** Rows `start` (inclusive) to `end` (exclusive) are rendered; the heights of the others become spacers. */
export interface RowWindow {
  start: number;
  end: number;
}

/** Each row's top from the list's top, and one entry more at the end: the list's whole height. */
export function rowOffsets(heights: readonly number[]): number[] {
  const offsets = new Array<number>(heights.length + 1);
  let top = 0;
  for (const [index, height] of heights.entries()) {
    offsets[index] = top;
    top += height;
  }
  offsets[heights.length] = top;
  return offsets;
}

/** The row at `y` (list coordinates): the last whose top is at or above it, clamped to the rows there are. */
export function rowAt(offsets: readonly number[], y: number): number {
  const rows = offsets.length - 1;
  if (rows <= 0) return 0;
  let low = 0;
  let high = rows - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((offsets[middle] ?? 0) <= y) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The rows that overlap the view (`top`, `height`) widened by `overscan` pixels on each side. */
export function rowWindow(
  offsets: readonly number[],
  top: number,
  height: number,
  overscan: number,
): RowWindow {
  const rows = offsets.length - 1;
  if (rows <= 0) return { start: 0, end: 0 };
  const start = rowAt(offsets, top - overscan);
  const end = Math.min(rows, rowAt(offsets, top + height + overscan) + 1);
  return { start, end };
}

/**
 * Whether the rendered rows (their top and bottom edges; `first`/`last`: they reach that end of the list)
 * cover the view with `margin` pixels to spare above and below it.
 */
export function coversView(
  rendered: { top: number; bottom: number; first: boolean; last: boolean },
  view: { top: number; bottom: number },
  margin: number,
): boolean {
  return (
    (rendered.first || rendered.top <= view.top - margin) &&
    (rendered.last || rendered.bottom >= view.bottom + margin)
  );
}

/**
 * `next` with at most `most` rows added on each side of `current` when the two overlap (a scroll moving the
 * window along), so that the rows entering the page — built, laid out and painted in one frame — stay few;
 * rows leaving are not limited. A `next` apart from `current` (a jump) is returned as it is.
 */
export function limitGrowth(current: RowWindow, next: RowWindow, most: number): RowWindow {
  if (next.end <= current.start || next.start >= current.end) return next;
  return {
    start: Math.max(next.start, current.start - most),
    end: Math.min(next.end, current.end + most),
  };
}
