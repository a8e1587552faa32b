import QRCode from 'qrcode';
import { promisify } from 'node:util';
import { crc32, deflate } from 'node:zlib';

/** A rendered QR code. */
export interface QrImage {
  contentType: 'image/png' | 'image/svg+xml';
  body: Buffer | string;
}

/** Error correction level of every QR code the API renders. */
const ERROR_CORRECTION = 'M';
/** Quiet zone, in modules (ISO/IEC 18004 asks for 4). */
const MARGIN = 4;
/** Pixels per module when the asked width is too small to hold the symbol (the `qrcode` library's default scale). */
const FALLBACK_SCALE = 4;

const deflateAsync = promisify(deflate);

/**
 * Renders a QR code (ISO/IEC 18004, error correction level M, 4-module quiet
 * zone) of a short URL: the symbol from the `qrcode` library, as SVG by the
 * library, as PNG by {@link encodeQrPng} (the same pixels as the library's
 * PNG renderer, in a fraction of its event-loop time).
 * @param size width and height in pixels (PNG) or the SVG's width/height attributes.
 */
export async function renderQrCode(text: string, format: 'png' | 'svg', size: number): Promise<QrImage> {
  if (format === 'svg') {
    return { contentType: 'image/svg+xml', body: await QRCode.toString(text, { errorCorrectionLevel: ERROR_CORRECTION, margin: MARGIN, width: size, type: 'svg' }) };
  }
  return { contentType: 'image/png', body: await encodeQrPng(QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION }).modules, size) };
}

/** The modules of a QR symbol: `size` x `size`, row-major, non-zero for dark. */
export interface QrModules {
  size: number;
  data: ArrayLike<number | boolean>;
}

/**
 * A QR symbol as a PNG (W3C PNG, ISO/IEC 15948): 1-bit grayscale, black
 * modules on white with a {@link MARGIN}-module quiet zone, mapped to
 * pixels as the `qrcode` library's renderer maps them (a module is
 * `width / (modules + 8)` pixels, possibly fractional; when `width` cannot
 * hold the symbol at one pixel per module, {@link FALLBACK_SCALE} pixels per
 * module). The library's renderer fills and filters 4 bytes per pixel in
 * JavaScript (about 0.3-1 s of event loop at 2048 pixels); here each
 * distinct scanline is built once and copied, and the compression runs on
 * the libuv thread pool.
 * @param width the asked width and height in pixels
 * @returns the PNG file
 */
export async function encodeQrPng(modules: QrModules, width: number): Promise<Buffer> {
  const n = modules.size;
  const scale = width >= n + 2 * MARGIN ? width / (n + 2 * MARGIN) : FALLBACK_SCALE;
  const pixels = Math.floor((n + 2 * MARGIN) * scale);
  const scaledMargin = MARGIN * scale;
  // The module row or column a pixel shows, or -1 in the quiet zone.
  const moduleAt = new Int32Array(pixels);
  for (let p = 0; p < pixels; p += 1) {
    moduleAt[p] = p >= scaledMargin && p < pixels - scaledMargin ? Math.floor((p - scaledMargin) / scale) : -1;
  }
  const rowBytes = 1 + Math.ceil(pixels / 8);
  const light = Buffer.alloc(rowBytes, 0xff);
  // Filter type 0 (None) leads every scanline.
  light[0] = 0;
  const rows = new Map<number, Buffer>();
  const scanline = (row: number): Buffer => {
    if (row < 0) return light;
    let line = rows.get(row);
    if (line === undefined) {
      line = Buffer.from(light);
      for (let p = 0; p < pixels; p += 1) {
        const column = moduleAt[p];
        // 1-bit grayscale: 0 is black.
        if (column >= 0 && modules.data[row * n + column]) line[1 + (p >> 3)] &= ~(0x80 >> (p & 7));
      }
      rows.set(row, line);
    }
    return line;
  };
  const raw = Buffer.allocUnsafe(pixels * rowBytes);
  for (let p = 0; p < pixels; p += 1) scanline(moduleAt[p]).copy(raw, p * rowBytes);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(pixels, 0);
  header.writeUInt32BE(pixels, 4);
  // Bit depth 1, color type 0 (grayscale), deflate, adaptive filtering, no interlace.
  header.set([1, 0, 0, 0, 0], 8);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', header), chunk('IDAT', await deflateAsync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
