import { execFileSync } from 'node:child_process';
import { grayscaleTiff } from '@kaiwa/core/testing';
import { createCanvas, GlobalFonts, loadImage } from '@napi-rs/canvas';

/** Renders lines of black text on white to a PNG, as a scanner would give them. */
export function renderTextPng(
  lines: string[],
  options: { font?: string; size?: number; width?: number } = {},
): Buffer {
  const size = options.size ?? 28;
  const width = options.width ?? 900;
  const height = Math.ceil(size * 2.2 * lines.length + size * 2);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  context.fillStyle = '#000000';
  context.font = `${size}px ${options.font ?? 'DejaVu Sans'}`;
  lines.forEach((line, index) => {
    context.fillText(line, size, size * 2 + index * size * 2.2);
  });
  return canvas.toBuffer('image/png');
}

/** A (multi-page) grayscale TIFF, one page per entry, each holding its lines as {@link renderTextPng} draws them. */
export async function renderTextTiff(pages: string[][]): Promise<Uint8Array> {
  const gray = await Promise.all(
    pages.map(async (lines) => {
      const image = await loadImage(renderTextPng(lines));
      const canvas = createCanvas(image.width, image.height);
      const context = canvas.getContext('2d');
      context.drawImage(image, 0, 0);
      const { data } = context.getImageData(0, 0, image.width, image.height);
      const pixels = new Uint8Array(image.width * image.height);
      for (let index = 0; index < pixels.length; index++) pixels[index] = data[index * 4] as number;
      return { gray: pixels, width: image.width, height: image.height };
    }),
  );
  return grayscaleTiff(gray);
}

/**
 * A minimal valid PDF with one page per entry, each holding its lines in Helvetica (a standard font the
 * PDF does not embed, so pdfjs uses its bundled font data).
 */
export function writeTextPdf(pages: string[][]): Buffer {
  const escapeText = (text: string) => text.replace(/[\\()]/g, (char) => `\\${char}`);
  const objects: string[] = [];
  const pageIds: number[] = [];
  // 1: catalog, 2: pages, 3: font, then a page and its content stream per page.
  objects[0] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  pages.forEach((lines, index) => {
    const pageId = 4 + index * 2;
    pageIds.push(pageId);
    const content = lines
      .map((line, at) => `BT /F1 20 Tf 50 ${740 - at * 36} Td (${escapeText(line)}) Tj ET`)
      .join('\n');
    objects[pageId - 1] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${pageId + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`;
    objects[pageId] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  });
  objects[1] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  let output = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(Buffer.byteLength(output, 'latin1'));
    output += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(output, 'latin1');
  output += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  output += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  output += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(output, 'latin1');
}

/** The family name of an installed font with Japanese glyphs (fc-list), registered for canvas; or undefined. */
export function findJapaneseFont(): string | undefined {
  let files: string[];
  try {
    files = execFileSync('fc-list', [':lang=ja', 'file'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.replace(/:\s*$/, '').trim())
      .filter(Boolean);
  } catch {
    return undefined;
  }
  const file = files.find((path) => /gothic|goth|sans/i.test(path)) ?? files[0];
  if (!file) return undefined;
  const family = 'KaiwaTestJapanese';
  return GlobalFonts.registerFromPath(file, family) ? family : undefined;
}
