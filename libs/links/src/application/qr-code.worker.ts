// Loaded by path on a worker thread of the QR code pool (see qr-code.ts): from
// dist/ as compiled JavaScript, and under Jest as this TypeScript file through
// Node's own type stripping, so it keeps to erasable TypeScript (no enums,
// decorators or path aliases) and imports nothing but the `qrcode` library.
import QRCode from 'qrcode';

/** One rendering job: `size` is the PNG's width and height in pixels, or the SVG's width/height attributes. */
export interface QrRenderTask {
  text: string;
  format: 'png' | 'svg';
  size: number;
}

/**
 * Renders a QR code (ISO/IEC 18004, error correction level M, 4-module quiet
 * zone) of `text` with the `qrcode` library's own renderers.
 * @returns the PNG file's bytes (a Buffer here; the pool's structured clone
 * hands the caller a Uint8Array), or the SVG document
 */
export default async function renderQrCodeTask({ text, format, size }: QrRenderTask): Promise<Uint8Array | string> {
  const options = { errorCorrectionLevel: 'M' as const, margin: 4, width: size };
  if (format === 'svg') return QRCode.toString(text, { ...options, type: 'svg' });
  return QRCode.toBuffer(text, { ...options, type: 'png' });
}
