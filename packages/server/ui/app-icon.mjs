/*
 * PNG versions of public/favicon.svg for the web app manifest (192 and 512 px), drawn at build time without a
 * dependency: the icon is two shapes (a rounded square and a speech bubble), sampled 4 × 4 per pixel for smooth
 * edges and written as an RGBA PNG. Keep the shapes in step with favicon.svg (its coordinates, 64 × 64).
 */
import { deflateSync } from 'node:zlib';

const BACKGROUND = [0x34, 0x54, 0xd1];
const FOREGROUND = [0xff, 0xff, 0xff];
const SAMPLES = 4;

/** Inside a rectangle with rounded corners. */
function inRoundedRect(x, y, left, top, right, bottom, radius) {
  if (x < left || x > right || y < top || y > bottom) return false;
  const cornerX = Math.min(Math.max(x, left + radius), right - radius);
  const cornerY = Math.min(Math.max(y, top + radius), bottom - radius);
  return (x - cornerX) ** 2 + (y - cornerY) ** 2 <= radius ** 2;
}

/** Inside the bubble's tail: the triangle (20,44) (30,44) (20,52). */
function inTail(x, y) {
  return x >= 20 && y >= 44 && y <= 52 && x <= 30 - (y - 44) * (10 / 8);
}

/** 0 outside the icon, 1 on the background, 2 on the bubble, at a point of the 64 × 64 drawing. */
function shapeAt(x, y) {
  if (inRoundedRect(x, y, 10, 18, 54, 44, 6) || inTail(x, y)) return 2;
  return inRoundedRect(x, y, 0, 0, 64, 64, 14) ? 1 : 0;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** The icon as a square PNG of `size` pixels. */
export function appIconPng(size) {
  const scale = 64 / size;
  const rows = Buffer.alloc(size * (1 + size * 4));
  for (let py = 0; py < size; py += 1) {
    const rowStart = py * (1 + size * 4); // each row starts with filter type 0
    for (let px = 0; px < size; px += 1) {
      let covered = 0;
      let bubble = 0;
      for (let sy = 0; sy < SAMPLES; sy += 1) {
        for (let sx = 0; sx < SAMPLES; sx += 1) {
          const shape = shapeAt((px + (sx + 0.5) / SAMPLES) * scale, (py + (sy + 0.5) / SAMPLES) * scale);
          if (shape > 0) covered += 1;
          if (shape === 2) bubble += 1;
        }
      }
      const offset = rowStart + 1 + px * 4;
      const mix = covered === 0 ? 0 : bubble / covered;
      for (let channel = 0; channel < 3; channel += 1) {
        rows[offset + channel] = Math.round(BACKGROUND[channel] * (1 - mix) + FOREGROUND[channel] * mix);
      }
      rows[offset + 3] = Math.round((covered / SAMPLES ** 2) * 255);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
