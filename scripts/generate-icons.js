// Draws the app and tray icons into resources/ as PNGs, with node:zlib only (no image tools).
// Run `node scripts/generate-icons.js` after changing a colour or shape; the PNGs are committed.
import { Buffer } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const resources = join(import.meta.dirname, '..', 'resources');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
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

/** An 8-bit RGBA PNG of `size`×`size` from `rgba(x, y)` → [r, g, b, a] (0–255). */
function encodePng(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(rgba(x, y), row + 1 + x * 4);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Rasterises layers of shapes in unit coordinates (0–1) with 4×4 supersampling. Each layer is
 * `{ colour: [r, g, b], inside(u, v) → boolean }`, painted in order over a transparent background.
 */
function draw(size, layers) {
  const samples = 4;
  return encodePng(size, (x, y) => {
    let [r, g, b, a] = [0, 0, 0, 0];
    for (const { colour, inside } of layers) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          if (inside((x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size)) hits++;
        }
      }
      const cover = hits / (samples * samples);
      if (cover === 0) continue;
      // "over" compositing in straight alpha.
      const outA = cover + a * (1 - cover);
      r = (colour[0] * cover + r * a * (1 - cover)) / outA;
      g = (colour[1] * cover + g * a * (1 - cover)) / outA;
      b = (colour[2] * cover + b * a * (1 - cover)) / outA;
      a = outA;
    }
    return [Math.round(r), Math.round(g), Math.round(b), Math.round(a * 255)];
  });
}

const circle = (cx, cy, radius) => (u, v) => (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2;

function roundedSquare(margin, radius) {
  return (u, v) => {
    const lo = margin + radius;
    const hi = 1 - margin - radius;
    const dx = Math.max(lo - u, 0, u - hi);
    const dy = Math.max(lo - v, 0, v - hi);
    return dx * dx + dy * dy <= radius * radius;
  };
}

/** A thick line from a to b with round ends. */
function segment([ax, ay], [bx, by], width) {
  return (u, v) => {
    const [dx, dy] = [bx - ax, by - ay];
    const t = Math.max(0, Math.min(1, ((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)));
    return (u - ax - t * dx) ** 2 + (v - ay - t * dy) ** 2 <= (width / 2) ** 2;
  };
}

// The app icon: five machines joined into a mesh, white on the UI's accent blue.
const BLUE = [47, 111, 222];
const WHITE = [255, 255, 255];
const nodes = [
  [0.3, 0.3],
  [0.7, 0.3],
  [0.3, 0.7],
  [0.7, 0.7],
  [0.5, 0.5],
];
const links = [
  [0, 1],
  [1, 3],
  [3, 2],
  [2, 0],
  [0, 4],
  [1, 4],
  [2, 4],
  [3, 4],
];
writeFileSync(
  join(resources, 'icon.png'),
  draw(512, [
    { colour: BLUE, inside: roundedSquare(0.04, 0.18) },
    ...links.map(([from, to]) => ({ colour: WHITE, inside: segment(nodes[from], nodes[to], 0.035) })),
    ...nodes.map(([cx, cy], index) => ({
      colour: WHITE,
      inside: circle(cx, cy, index === 4 ? 0.085 : 0.07),
    })),
  ]),
);

// Tray icons: a dot per state, 16 px and 32 px (@2x, which Electron picks on high-DPI screens).
const TRAY = {
  idle: [31, 138, 76],
  building: [47, 111, 222],
  paused: [183, 121, 31],
  offline: [138, 148, 163],
};
for (const [state, colour] of Object.entries(TRAY)) {
  for (const [suffix, size] of [
    ['', 16],
    ['@2x', 32],
  ]) {
    writeFileSync(
      join(resources, `tray-${state}${suffix}.png`),
      draw(size, [{ colour, inside: circle(0.5, 0.5, 0.4) }]),
    );
  }
}
