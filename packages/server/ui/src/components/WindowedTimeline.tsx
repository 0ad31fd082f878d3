import type { ComponentChildren, RefObject, VNode } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { coversView, limitGrowth, rowOffsets, rowWindow } from '../timeline-window';

/*
 * A timeline (the room's, and a thread's), windowed: past `ALL_ROWS_UP_TO` rows only the rows near the view are in the DOM; the
 * others are two spacers (list items hidden from assistive technology) as tall as the rows they stand for,
 * measured once shown, estimated before.
 *
 * The browser scrolls freely: a scroll event only checks whether the rendered rows still cover the view
 * and, when they no longer do, renders other rows. `scrollTop` is written in two cases only: at the
 * bottom (it stays there), and when a render changed what is above the row at the top of the view (rows
 * above it added, removed or of another height than estimated) — then by exactly how far that row moved,
 * measured on the page just before and just after the change. Nothing is ever put back to a remembered
 * position, so a wheel turn or a fling is never pulled back.
 *
 * Rows also change height between renders (an image above the view finishing loading). The browser's own
 * scroll anchoring is off (`overflow-anchor: none`: it fought the corrections above), so a ResizeObserver
 * does the same: the row at the top of the view, as the last scroll or render left it, is kept where the
 * reader saw it, before the page is painted.
 */

/**
 * Pixels of rows rendered beyond the view on each side; the least left before more are rendered; the most
 * kept before rows far away are taken out.
 */
const OVERSCAN_PX = 1_000;
const MARGIN_PX = 250;
const EXCESS_PX = 3_000;
/**
 * At most this many rows enter the page in one render while the window moves along with a scroll: a page
 * of older history reached during a fast scroll-back otherwise put a dozen or more rows on the page in one
 * frame, and laying them out was most of the frames that ran long. The view stays covered (the margin is
 * checked after each render); only what is beyond it arrives over a few frames.
 */
const ROWS_ENTERING_PER_RENDER = 8;
/**
 * Up to this many rows all are rendered: cheap at that size (a few history pages), and the browser's find
 * in page and a screen reader's browse mode then reach every loaded message.
 */
const ALL_ROWS_UP_TO = 200;
/** The height assumed for rows never shown, until the first rows are measured (then their average). */
const FIRST_ESTIMATE_PX = 60;
/**
 * The first rows of a list that opens at its bottom are put on the page in two steps: first those that fill
 * the view (and this much of a view more, by the estimate), painted at once; the rest of the window after
 * that paint. Parsing, rendering and laying out a whole page of history before the first paint took three
 * times as long, for rows nobody could see yet.
 */
const FIRST_PAINT_EXTRA_VIEWS = 0.5;

/**
 * Rows that are no message (day dividers, the new-messages line; keys from `messageRows`) can stay first
 * while older messages are added below them: they never anchor the view.
 */
const divider = (key: string) => key.startsWith('day-') || key === 'new-divider';

/**
 * The key a window's first row is remembered by: its first message, not a divider. A day's divider stays the
 * first row of the day while older messages of that day are added below it, so a window remembered by the
 * divider grew by a whole page of rows at once when one arrived; remembered by its first message, it keeps
 * its rows (and the divider directly above them, see `startOf`).
 */
function firstKey(keys: readonly string[], start: number, end: number): string {
  for (let index = start; index < end; index += 1) {
    const key = keys[index]!;
    if (!divider(key)) return key;
  }
  return keys[start] ?? '';
}

/** Where a window remembered by `key` starts: at that row, or at the dividers directly above it. */
function startOf(keys: readonly string[], key: string): number {
  let start = keys.indexOf(key);
  while (start > 0 && divider(keys[start - 1]!)) start -= 1;
  return start;
}

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

/** The row at the top of the view as the reader left it, and the scroll position it was seen at. */
interface Resting extends Anchor {
  scrollTop: number;
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

/** The first row in view (no divider), its top relative to the view's top, found by halving. */
function rowInView(element: HTMLElement, list: HTMLElement, shown: Shown): Resting | null {
  const count = shown.end - shown.start;
  const children = list.children;
  if (count === 0 || children.length !== count + 2) return null;
  const view = element.getBoundingClientRect();
  let low = 0;
  let high = count - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (children[middle + 1]!.getBoundingClientRect().bottom > view.top) high = middle;
    else low = middle + 1;
  }
  for (let position = low; position < count; position += 1) {
    const top = children[position + 1]!.getBoundingClientRect().top;
    if (top >= view.bottom) break;
    const key = shown.keys[shown.start + position];
    if (key !== undefined && !divider(key)) {
      return { key, top: top - view.top, scrollTop: element.scrollTop };
    }
  }
  return null;
}

/**
 * Scrolls by as far as the row of `place` moved in the view for any other reason than scrolling (rows above
 * it rendered differently, or grown or shrunk). A `Resting` place counts the scrolling since it was taken.
 */
function keepInPlace(element: HTMLElement, list: HTMLElement, shown: Shown, place: Anchor | Resting): void {
  const position = shown.keys.indexOf(place.key, shown.start) - shown.start;
  const row = position >= 0 && position < shown.end - shown.start ? list.children[position + 1] : null;
  if (!row) return;
  const scrolled = 'scrollTop' in place ? element.scrollTop - place.scrollTop : 0;
  const moved =
    row.getBoundingClientRect().top - element.getBoundingClientRect().top - (place.top - scrolled);
  if (Math.abs(moved) >= 1) element.scrollTop += moved;
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
  /** The row at the top of the view as the last scroll or render left it: kept there when rows resize. */
  const resting = useRef<Resting | null>(null);
  const tries = useRef(0);
  /**
   * The first paint's step: 'waiting' for the first rows, 'partial' while only the rows that fill the view
   * are on the page (until the browser has painted them), 'done' after.
   */
  const firstPaint = useRef<'waiting' | 'partial' | 'done'>('waiting');
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
    const first = range.current ? startOf(keys, range.current.first) : -1;
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
  // The first rows of a list that opens at its bottom: those that fill the view, until they are painted.
  if (firstPaint.current === 'waiting' && count > 0) {
    firstPaint.current = stick.current && focusAt < 0 ? 'partial' : 'done';
  }
  const partial = firstPaint.current === 'partial' && stick.current && focusAt < 0;
  if (partial) {
    const early = rowWindow(offsets, total - viewHeight, viewHeight, viewHeight * FIRST_PAINT_EXTRA_VIEWS);
    start = Math.max(start, early.start);
  }
  range.current =
    count > 0 && !partial ? { first: firstKey(keys, start, end), last: keys[end - 1] ?? '' } : null;
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
    const window = limitGrowth(current, rowWindow(at, y, box.height, OVERSCAN_PX), ROWS_ENTERING_PER_RENDER);
    return {
      first: firstKey(current.keys, window.start, window.end),
      last: current.keys[window.end - 1] ?? '',
    };
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
      keepInPlace(view, rendered, current, place);
    }
    resting.current = rowInView(view, rendered, current);
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

  // The rows the first paint left out, once it is on the screen: a task after the next frame (an effect can
  // run sooner, when another render of this list comes first).
  useEffect(() => {
    if (firstPaint.current !== 'partial') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => {
        firstPaint.current = 'done';
        rerender((value) => value + 1);
      });
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [firstPaint.current]);

  useEffect(() => {
    const view = scroller.current;
    const rendered = list.current;
    if (!view || !rendered) return;
    const onScroll = () => {
      const current = shown.current;
      if (!current) return;
      // A row above may have changed height since the last look (a scroll event can come in the same frame
      // as the change, before the observer below): put the view back first, then take the new place.
      if (!stick.current && resting.current) keepInPlace(view, rendered, current, resting.current);
      resting.current = rowInView(view, rendered, current);
      if (stick.current) return;
      const next = wanted(view, rendered, current);
      if (!next) return;
      tries.current = 0;
      range.current = next;
      rerender((value) => value + 1);
    };
    view.addEventListener('scroll', onScroll, { passive: true });
    // Rows growing at the bottom (an image loading) keep a list that sticks there at the bottom; rows above
    // the view changing height (an image loading there) leave the rows in view where they are.
    const observer =
      typeof ResizeObserver === 'undefined'
        ? undefined
        : new ResizeObserver(() => {
            if (!stick.current) return onScroll();
            view.scrollTop = view.scrollHeight;
            if (shown.current) resting.current = rowInView(view, rendered, shown.current);
          });
    observer?.observe(rendered);
    observer?.observe(view);
    // What is above the rows in the scroller (a thread's first message, the load-older button) as well.
    for (const child of view.children) observer?.observe(child);
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
