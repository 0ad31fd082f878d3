import type { ComponentChildren, RefObject, VNode } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { coversView, rowOffsets, rowWindow } from '../timeline-window';

/*
 * The room's timeline, windowed: past `ALL_ROWS_UP_TO` rows only the rows near the view are in the DOM; the
 * others are two spacers (list items hidden from assistive technology) as tall as the rows they stand for,
 * measured once shown, estimated before.
 *
 * The browser scrolls freely: a scroll event only checks whether the rendered rows still cover the view
 * and, when they no longer do, renders other rows. `scrollTop` is written in two cases only: at the
 * bottom (it stays there), and when a render changed what is above the row at the top of the view (rows
 * above it added, removed or of another height than estimated) — then by exactly how far that row moved,
 * measured on the page just before and just after the change. Nothing is ever put back to a remembered
 * position, so a wheel turn or a fling is never pulled back.
 */

/**
 * Pixels of rows rendered beyond the view on each side; the least left before more are rendered; the most
 * kept before rows far away are taken out.
 */
const OVERSCAN_PX = 1_000;
const MARGIN_PX = 250;
const EXCESS_PX = 3_000;
/**
 * Up to this many rows all are rendered: cheap at that size (a few history pages), and the browser's find
 * in page and a screen reader's browse mode then reach every loaded message.
 */
const ALL_ROWS_UP_TO = 200;
/** The height assumed for rows never shown, until the first rows are measured (then their average). */
const FIRST_ESTIMATE_PX = 60;

/**
 * Rows that are no message (day dividers, the new-messages line; keys from `messageRows`) can stay first
 * while older messages are added below them: they never anchor the view.
 */
const divider = (key: string) => key.startsWith('day-') || key === 'new-divider';

/** What the last render put on the page: rows `start` to `end` (exclusive) of `keys`. */
interface Shown {
  keys: string[];
  start: number;
  end: number;
}

/** A row at the top of the view, and its top edge relative to the view's top. */
interface Anchor {
  key: string;
  top: number;
}

/**
 * Measures the rows on the page (their heights are kept for when they leave it) and returns the first one
 * in view with its place, for the render about to change the page.
 */
function measure(
  element: HTMLElement,
  list: HTMLElement,
  shown: Shown,
  heights: Map<string, number>,
): Anchor | null {
  const count = shown.end - shown.start;
  const children = list.children;
  // Children: the top spacer, the rows, the bottom spacer. A row's height is the distance to the next top.
  if (children.length !== count + 2) return null;
  const view = element.getBoundingClientRect();
  let next = children[count + 1]!.getBoundingClientRect().top;
  let anchor: Anchor | null = null;
  for (let position = count - 1; position >= 0; position -= 1) {
    const top = children[position + 1]!.getBoundingClientRect().top;
    const key = shown.keys[shown.start + position];
    if (key !== undefined) {
      heights.set(key, next - top);
      if (next > view.top && top < view.bottom && !divider(key)) anchor = { key, top: top - view.top };
    }
    next = top;
  }
  return anchor;
}

export function WindowedRows({
  rows,
  scroller,
  stick,
  focus,
}: {
  rows: ComponentChildren[];
  scroller: RefObject<HTMLDivElement>;
  stick: { current: boolean };
  /** A message being jumped to: its row is rendered (in the middle of the window) until the jump is done. */
  focus: string | undefined;
}) {
  const list = useRef<HTMLOListElement>(null);
  const heights = useRef(new Map<string, number>());
  const estimate = useRef(0);
  /** The rows to render, by their first and last keys (indexes move when older rows are added above). */
  const range = useRef<{ first: string; last: string } | null>(null);
  const shown = useRef<Shown | null>(null);
  const anchor = useRef<Anchor | null>(null);
  const tries = useRef(0);
  const [, rerender] = useState(0);

  const keys = rows.map((row) => String((row as VNode).key));
  const count = keys.length;
  const guess = estimate.current || FIRST_ESTIMATE_PX;

  // Before the page changes: the rows there now, measured, and the one at the top of the view.
  const element = scroller.current;
  const previous = shown.current;
  anchor.current =
    element && list.current && previous ? measure(element, list.current, previous, heights.current) : null;

  const offsets = rowOffsets(keys.map((key) => heights.current.get(key) ?? guess));
  const total = offsets[count] ?? 0;
  const viewHeight = element?.clientHeight || globalThis.innerHeight || 800;
  const focusAt = focus === undefined ? -1 : keys.indexOf(focus);
  let start = 0;
  let end = count;
  if (count > ALL_ROWS_UP_TO) {
    const first = range.current ? keys.indexOf(range.current.first) : -1;
    const last = range.current ? keys.indexOf(range.current.last) : -1;
    if (focusAt >= 0) {
      stick.current = false;
      ({ start, end } = rowWindow(
        offsets,
        (offsets[focusAt] ?? 0) - viewHeight / 2,
        viewHeight,
        OVERSCAN_PX,
      ));
    } else if (stick.current || first < 0 || last < first) {
      ({ start, end } = rowWindow(offsets, total - viewHeight, viewHeight, OVERSCAN_PX));
    } else {
      start = first;
      end = last + 1;
    }
  }
  range.current = count > 0 ? { first: keys[start] ?? '', last: keys[end - 1] ?? '' } : null;
  shown.current = { keys, start, end };
  const before = offsets[start] ?? 0;
  const after = total - (offsets[end] ?? total);

  /** Whether the rendered rows cover the view with the margin to spare; if not, the rows that would. */
  const wanted = (view: HTMLElement, rendered: HTMLElement, current: Shown) => {
    const children = rendered.children;
    const box = view.getBoundingClientRect();
    const top = children[1]?.getBoundingClientRect().top ?? 0;
    const bottom = children[children.length - 1]?.getBoundingClientRect().top ?? 0;
    const covered = coversView(
      { top, bottom, first: current.start === 0, last: current.end === current.keys.length },
      { top: box.top, bottom: box.bottom },
      MARGIN_PX,
    );
    const excess = top < box.top - EXCESS_PX || bottom > box.bottom + EXCESS_PX;
    if ((covered && !excess) || current.keys.length <= ALL_ROWS_UP_TO) return null;
    const at = rowOffsets(
      current.keys.map((key) => heights.current.get(key) ?? (estimate.current || FIRST_ESTIMATE_PX)),
    );
    const y = box.top - rendered.getBoundingClientRect().top;
    const window = rowWindow(at, y, box.height, OVERSCAN_PX);
    return { first: current.keys[window.start] ?? '', last: current.keys[window.end - 1] ?? '' };
  };

  useLayoutEffect(() => {
    const view = scroller.current;
    const rendered = list.current;
    const current = shown.current;
    if (!view || !rendered || !current) return;
    const place = anchor.current;
    anchor.current = null;
    if (stick.current) {
      const bottom = view.scrollHeight - view.clientHeight;
      if (Math.abs(view.scrollTop - bottom) >= 1) view.scrollTop = bottom;
    } else if (place) {
      // The row that was at the top of the view: if rows above it changed, it moved; move the view with it.
      const position = current.keys.indexOf(place.key, current.start) - current.start;
      const row =
        position >= 0 && position < current.end - current.start ? rendered.children[position + 1] : null;
      if (row) {
        const moved = row.getBoundingClientRect().top - view.getBoundingClientRect().top - place.top;
        if (Math.abs(moved) >= 1) view.scrollTop += moved;
      }
    }
    measure(view, rendered, current, heights.current);
    if (!estimate.current && heights.current.size > 0) {
      // Fixed once: a changing estimate would move every spacer, and the view with them.
      let sum = 0;
      for (const height of heights.current.values()) sum += height;
      estimate.current = Math.max(24, Math.round(sum / heights.current.size));
    }
    // Estimates corrected by this render can leave the view uncovered: render again (a few times at most).
    const next = focusAt >= 0 ? null : wanted(view, rendered, current);
    if (next && tries.current++ < 3) {
      range.current = next;
      rerender((value) => value + 1);
    } else if (!next) {
      tries.current = 0;
    }
  });

  useEffect(() => {
    const view = scroller.current;
    const rendered = list.current;
    if (!view || !rendered) return;
    const onScroll = () => {
      const current = shown.current;
      if (!current || stick.current) return;
      const next = wanted(view, rendered, current);
      if (!next) return;
      tries.current = 0;
      range.current = next;
      rerender((value) => value + 1);
    };
    view.addEventListener('scroll', onScroll, { passive: true });
    // Rows growing at the bottom (an image loading) keep a list that sticks there at the bottom.
    const observer =
      typeof ResizeObserver === 'undefined'
        ? undefined
        : new ResizeObserver(() => {
            if (stick.current) view.scrollTop = view.scrollHeight;
            else onScroll();
          });
    observer?.observe(rendered);
    observer?.observe(view);
    return () => {
      view.removeEventListener('scroll', onScroll);
      observer?.disconnect();
    };
  }, [scroller, stick]);

  // data-window: the rows rendered and of how many ("start-end/count"), for tests and for looking.
  return (
    <ol class="message-list" ref={list} data-window={`${start}-${end}/${count}`}>
      <li class="timeline-spacer" aria-hidden="true" style={{ height: `${before}px` }} />
      {rows.slice(start, end)}
      <li class="timeline-spacer" aria-hidden="true" style={{ height: `${after}px` }} />
    </ol>
  );
}
