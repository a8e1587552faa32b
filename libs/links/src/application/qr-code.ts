import QRCode from 'qrcode';

/** A rendered QR code. */
export interface QrImage {
  contentType: 'image/png' | 'image/svg+xml';
  body: Buffer | string;
}

/**
 * Renders a QR code (ISO/IEC 18004, error correction level M, 4-module quiet
 * zone) of a short URL with the `qrcode` library.
 * @param size width and height in pixels (PNG) or the SVG's width/height attributes.
 */
export async function renderQrCode(text: string, format: 'png' | 'svg', size: number): Promise<QrImage> {
  const options = { errorCorrectionLevel: 'M' as const, margin: 4, width: size };
  if (format === 'svg') return { contentType: 'image/svg+xml', body: await QRCode.toString(text, { ...options, type: 'svg' }) };
  return { contentType: 'image/png', body: await QRCode.toBuffer(text, { ...options, type: 'png' }) };
}
