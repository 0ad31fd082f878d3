import { crc32 } from 'node:zlib';
import { grayscaleTiff, imageOnlyPdf } from '@kaiwa/core/testing';
import { createCanvas } from '@napi-rs/canvas';

/* Tiny documents built in code for the extraction tests: no fixtures to download. */

/** A valid PDF with one page per text, in Helvetica, made by hand (objects, xref, trailer). */
export function tinyPdf(pages: string[]): Uint8Array {
  const objects: string[] = [];
  const pageIds = pages.map((_, index) => 4 + index * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  for (const [index, text] of pages.entries()) {
    const escaped = text.replaceAll('\\', '\\\\').replaceAll('(', '\\(').replaceAll(')', '\\)');
    const stream = `BT /F1 12 Tf 72 720 Td (${escaped}) Tj ET`;
    objects[pageIds[index] as number] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${(pageIds[index] as number) + 1} 0 R >>`;
    objects[(pageIds[index] as number) + 1] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  }
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = body.length;
    body += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = body.length;
  body += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) body += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(body);
}

/** A minimal DOCX (a zip of stored entries) whose body holds one paragraph per text. */
export function tinyDocx(paragraphs: string[]): Uint8Array {
  const xml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  const files: Record<string, string> = {
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    '_rels/.rels':
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${paragraphs
      .map((text) => `<w:p><w:r><w:t>${xml(text)}</w:t></w:r></w:p>`)
      .join('')}</w:body></w:document>`,
  };
  return storedZip(Object.entries(files).map(([name, text]) => ({ name, data: Buffer.from(text) })));
}

function storedZip(entries: { name: string; data: Buffer }[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBytes = Buffer.from(name);
    const checksum = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

/** Lines of black text on white, as a scanner would give them, drawn with @napi-rs/canvas. */
function textCanvas(lines: string[]) {
  const size = 28;
  const canvas = createCanvas(900, Math.ceil(size * 2.2 * lines.length + size * 2));
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = '#000000';
  context.font = `${size}px DejaVu Sans`;
  for (const [index, line] of lines.entries()) context.fillText(line, size, size * 2 + index * size * 2.2);
  return canvas;
}

/** An image of lines of text, as PNG, JPEG or WebP. */
export function textImage(
  lines: string[],
  type: 'image/png' | 'image/jpeg' | 'image/webp' = 'image/png',
): Uint8Array {
  const canvas = textCanvas(lines);
  return new Uint8Array(type === 'image/png' ? canvas.toBuffer('image/png') : canvas.toBuffer(type, 95));
}

/** A scanned PDF: one JPEG image per page, each of lines of text, and no text layer. */
export function scannedPdf(pages: string[][]): Uint8Array {
  return imageOnlyPdf(
    pages.map((lines) => {
      const canvas = textCanvas(lines);
      return { jpeg: canvas.toBuffer('image/jpeg', 95), width: canvas.width, height: canvas.height };
    }),
  );
}

/** A (multi-page) grayscale TIFF, as a document scanner or fax writes it: one page per entry of lines. */
export function textTiff(pages: string[][]): Uint8Array {
  return grayscaleTiff(
    pages.map((lines) => {
      const canvas = textCanvas(lines);
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      const gray = new Uint8Array(canvas.width * canvas.height);
      for (let index = 0; index < gray.length; index++) gray[index] = data[index * 4] as number;
      return { gray, width: canvas.width, height: canvas.height };
    }),
  );
}
