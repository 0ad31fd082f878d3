import { describe, expect, it } from 'vitest';
import { coversView, limitGrowth, rowAt, rowOffsets, rowWindow } from './timeline-window';

describe('timeline window', () => {
  // Ten rows: 50 px each, but row 3 is a tall one (200 px). Tops: 0 50 100 150 350 400 … 600; height 650.
  const heights = [50, 50, 50, 200, 50, 50, 50, 50, 50, 50];
  const offsets = rowOffsets(heights);

  it('places each row after the ones above it, and ends with the whole height', () => {
    expect(offsets).toEqual([0, 50, 100, 150, 350, 400, 450, 500, 550, 600, 650]);
    expect(rowOffsets([])).toEqual([0]);
  });

  it('finds the row at a position, the tall one across its whole height, clamped at both ends', () => {
    expect(rowAt(offsets, 0)).toBe(0);
    expect(rowAt(offsets, 49.5)).toBe(0);
    expect(rowAt(offsets, 50)).toBe(1);
    expect(rowAt(offsets, 151)).toBe(3);
    expect(rowAt(offsets, 349)).toBe(3);
    expect(rowAt(offsets, -100)).toBe(0);
    expect(rowAt(offsets, 10_000)).toBe(9);
    expect(rowAt([0], 10)).toBe(0);
  });

  it('renders the rows in view and the overscan around them', () => {
    // View 360–460 (rows 4 and 5 and the top of 6); 100 px more each side: 260–560.
    expect(rowWindow(offsets, 360, 100, 0)).toEqual({ start: 4, end: 7 });
    expect(rowWindow(offsets, 360, 100, 100)).toEqual({ start: 3, end: 9 });
    // At the ends the window stops at the list's first and last rows.
    expect(rowWindow(offsets, 0, 100, 500)).toEqual({ start: 0, end: 10 });
    expect(rowWindow(offsets, 600, 100, 50)).toEqual({ start: 8, end: 10 });
    expect(rowWindow([0], 0, 800, 400)).toEqual({ start: 0, end: 0 });
  });

  it('keeps the rendered rows while they cover the view with the margin to spare', () => {
    const rendered = { top: 100, bottom: 900, first: false, last: false };
    expect(coversView(rendered, { top: 300, bottom: 700 }, 200)).toBe(true);
    expect(coversView(rendered, { top: 299, bottom: 600 }, 200)).toBe(false);
    expect(coversView(rendered, { top: 400, bottom: 701 }, 200)).toBe(false);
    // At the ends of the list there is nothing more to render.
    expect(coversView({ ...rendered, first: true }, { top: 0, bottom: 400 }, 200)).toBe(true);
    expect(coversView({ ...rendered, last: true }, { top: 600, bottom: 1000 }, 200)).toBe(true);
    // No rows at all: nothing to cover.
    expect(
      coversView({ top: Infinity, bottom: -Infinity, first: true, last: true }, { top: 0, bottom: 800 }, 200),
    ).toBe(true);
  });

  it('treats rows prepended above as moving the same view down by their height', () => {
    // Two rows of 60 px added at the top: the row that was at 360 is now at 480, and the window follows.
    const grown = rowOffsets([60, 60, ...heights]);
    expect(rowAt(grown, 360 + 120)).toBe(rowAt(offsets, 360) + 2);
    expect(rowWindow(grown, 480, 100, 0)).toEqual({ start: 6, end: 9 });
  });

  it('adds at most a few rows on each side while the window moves along, and jumps at once', () => {
    // Scrolling up: 30 more rows wanted above, 10 fewer below; 8 are added, all 10 leave.
    expect(limitGrowth({ start: 100, end: 140 }, { start: 70, end: 130 }, 8)).toEqual({
      start: 92,
      end: 130,
    });
    // Growing on both sides (the view got taller): each side limited.
    expect(limitGrowth({ start: 100, end: 140 }, { start: 80, end: 160 }, 8)).toEqual({
      start: 92,
      end: 148,
    });
    // Within the limit: as wanted.
    expect(limitGrowth({ start: 100, end: 140 }, { start: 95, end: 143 }, 8)).toEqual({
      start: 95,
      end: 143,
    });
    // Apart from the rows on the page (a jump): the whole window at once.
    expect(limitGrowth({ start: 100, end: 140 }, { start: 10, end: 50 }, 8)).toEqual({ start: 10, end: 50 });
    expect(limitGrowth({ start: 100, end: 140 }, { start: 140, end: 180 }, 8)).toEqual({
      start: 140,
      end: 180,
    });
  });
});
