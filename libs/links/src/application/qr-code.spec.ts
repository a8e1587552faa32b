import { DomainError } from '@shortener/common';
import { toProblem } from '@shortener/http';
import QRCode from 'qrcode';
import { QR_RENDER_RETRY_AFTER_SECONDS, QrCodeRenderer, renderQrCode } from './qr-code';

/** The options every QR code of the API is drawn with: error correction level M, a 4-module quiet zone. */
const library = { errorCorrectionLevel: 'M' as const, margin: 4 };

describe(renderQrCode.name, () => {
  const texts = ['https://short.example/Ab3dE7x', `https://short.example/${encodeURIComponent('ünïcödé-alias-'.repeat(4))}`];

  // Small widths: the reference runs on Jest's own thread, where the library's PNG renderer is many times slower than on a worker.
  it.each(texts.flatMap((text) => [64, 97].map((width) => [text, width] as const)))(
    'renders the PNG of the qrcode library for %s at %d px, as a Buffer',
    async (text, width) => {
      const image = await renderQrCode(text, 'png', width);
      expect(image.contentType).toBe('image/png');
      expect(Buffer.isBuffer(image.body)).toBe(true);
      expect((image.body as Buffer).equals(await QRCode.toBuffer(text, { ...library, width, type: 'png' }))).toBe(true);
    },
  );

  it('draws the PNG at the asked width, or at 4 pixels per module when the width cannot hold the symbol', async () => {
    const long = `https://short.example/${'x'.repeat(300)}`;
    const modules = QRCode.create(long, { errorCorrectionLevel: 'M' }).modules.size;
    expect(modules + 8).toBeGreaterThan(64);
    const sizes = await Promise.all([renderQrCode(texts[0], 'png', 256), renderQrCode(long, 'png', 64)]);
    // IHDR width and height (W3C PNG section 11.2.2).
    expect(sizes.map(({ body }) => [(body as Buffer).readUInt32BE(16), (body as Buffer).readUInt32BE(20)])).toEqual([
      [256, 256],
      [(modules + 8) * 4, (modules + 8) * 4],
    ]);
  });

  it('renders the SVG of the qrcode library', async () => {
    const image = await renderQrCode(texts[1], 'svg', 256);
    expect(image).toEqual({ contentType: 'image/svg+xml', body: await QRCode.toString(texts[1], { ...library, width: 256, type: 'svg' }) });
  });
});

describe(QrCodeRenderer.name, () => {
  const renderer = new QrCodeRenderer(1, 1);
  afterAll(() => renderer.close());

  it('refuses a render beyond its threads and queue with 503 overloaded and Retry-After, and takes renders again once one is done', async () => {
    const settled = await Promise.allSettled([1, 2, 3].map((n) => renderer.render(`https://short.example/${n}`, 'svg', 128)));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const error = (settled[2] as PromiseRejectedResult).reason as DomainError;
    expect(error).toBeInstanceOf(DomainError);
    expect(toProblem(error)).toEqual({
      type: 'urn:shortener:problem:overloaded',
      title: 'The service is overloaded',
      status: 503,
      detail: `2 QR codes are being rendered or waiting; retry after ${QR_RENDER_RETRY_AFTER_SECONDS} s`,
      retryAfterSeconds: QR_RENDER_RETRY_AFTER_SECONDS,
    });
    expect((await renderer.render('https://short.example/4', 'svg', 128)).body).toBe(
      await QRCode.toString('https://short.example/4', { ...library, width: 128, type: 'svg' }),
    );
  });
});
