import QRCode from 'qrcode';
import { crc32, inflateSync } from 'node:zlib';
import { encodeQrPng, renderQrCode } from './qr-code';

// The qrcode library's own pixel mapping (what its PNG renderer fills): the reference.
const reference = require('qrcode/lib/renderer/utils') as {
  getOptions(options: object): object;
  getImageWidth(size: number, options: object): number;
  qrToImageData(data: Uint8Array, qr: QRCode.QRCode, options: object): void;
};

interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Dark pixels, row-major. */
  dark: Uint8Array;
}

/** Decodes a non-interlaced 1-bit grayscale PNG with unfiltered scanlines, checking every chunk's CRC. */
function decode(png: Buffer): DecodedPng {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: Array<{ type: string; data: Buffer }> = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  const ihdr = chunks[0].data;
  const [width, height, bitDepth, colorType] = [ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]];
  expect([ihdr[10], ihdr[11], ihdr[12]]).toEqual([0, 0, 0]);
  const raw = inflateSync(chunks[1].data);
  const rowBytes = 1 + Math.ceil(width / 8);
  expect(raw.length).toBe(height * rowBytes);
  const dark = new Uint8Array(width * height);
  let filtered = 0;
  for (let y = 0; y < height; y += 1) {
    const row = y * rowBytes;
    if (raw[row] !== 0) filtered += 1;
    for (let x = 0; x < width; x += 1) dark[y * width + x] = 1 - ((raw[row + 1 + (x >> 3)] >> (7 - (x & 7))) & 1);
  }
  expect(filtered).toBe(0);
  return { width, height, bitDepth, colorType, dark };
}

/** The library's pixels for the same symbol and options: dark where its red channel is 0. */
function referencePixels(qr: QRCode.QRCode, width: number): { size: number; dark: Uint8Array } {
  const options = reference.getOptions({ errorCorrectionLevel: 'M', margin: 4, width });
  const size = reference.getImageWidth(qr.modules.size, options);
  const rgba = new Uint8Array(size * size * 4);
  reference.qrToImageData(rgba, qr, options);
  const dark = new Uint8Array(size * size);
  for (let i = 0; i < size * size; i += 1) dark[i] = rgba[i * 4] === 0 ? 1 : 0;
  return { size, dark };
}

describe(encodeQrPng.name, () => {
  const texts = ['https://short.example/Ab3dE7x', `https://short.example/${encodeURIComponent('ünïcödé-alias-'.repeat(4))}`];

  // Whole and fractional pixels per module; the mapping is the same at every width.
  it.each(texts.flatMap((text) => [64, 97, 512, 777].map((width) => [text, width] as const)))('draws the pixels of the qrcode library for %s at %d px', async (text, width) => {
    const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
    const png = decode(await encodeQrPng(qr.modules, width));
    const expected = referencePixels(qr, width);
    expect({ width: png.width, height: png.height, bitDepth: png.bitDepth, colorType: png.colorType }).toEqual({ width: expected.size, height: expected.size, bitDepth: 1, colorType: 0 });
    expect(Buffer.from(png.dark).equals(Buffer.from(expected.dark))).toBe(true);
  });

  it('falls back to 4 pixels per module when the width cannot hold the symbol, as the library does', async () => {
    const qr = QRCode.create(`https://short.example/${'x'.repeat(300)}`, { errorCorrectionLevel: 'M' });
    expect(qr.modules.size + 8).toBeGreaterThan(64);
    const png = decode(await encodeQrPng(qr.modules, 64));
    expect(png.width).toBe((qr.modules.size + 8) * 4);
    expect(Buffer.from(png.dark).equals(Buffer.from(referencePixels(qr, 64).dark))).toBe(true);
  });
});

describe(renderQrCode.name, () => {
  it('renders the PNG from the symbol the library makes of the text', async () => {
    const text = 'https://short.example/qr';
    const image = await renderQrCode(text, 'png', 256);
    const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
    expect(image.contentType).toBe('image/png');
    expect(Buffer.from(decode(image.body as Buffer).dark).equals(Buffer.from(referencePixels(qr, 256).dark))).toBe(true);
  });
});
