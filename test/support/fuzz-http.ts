import http from 'node:http';

/**
 * The HTTP side of the fuzzer: requests sent as written (path bytes, header
 * values and body text exactly as given, no URL normalisation), answers read
 * whole, and the property every answer must have.
 */

/** A request as it goes on the wire. `path` is the request target: path and query, already percent-encoded. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Body text, sent as UTF-8 with its Content-Length; none when absent. */
  body?: string;
}

/** An answer: status, header fields (lower-case names) and the body as text. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * Sends {@link RawRequest}s to one origin over keep-alive connections
 * (`node:http`, so paths such as `/a/../b` or `%zz` reach the server
 * unchanged). Close it to end its sockets.
 */
export class FuzzHttpClient {
  private readonly agent: http.Agent;
  private readonly origin: URL;

  /**
   * @param baseUrl origin of the server, e.g. `http://127.0.0.1:41234`.
   * @param timeoutMs deadline of one exchange, from sending to the last body byte.
   * @param maxSockets connections kept to the server.
   */
  constructor(
    baseUrl: string,
    private readonly timeoutMs = 15_000,
    maxSockets = 4,
  ) {
    this.origin = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Sends one request and reads the whole answer.
   *
   * @throws when the connection fails or closes before an answer (a reset
   *   of a reused kept-alive connection is retried once), when the exchange
   *   exceeds the timeout, or when Node refuses the request as written
   *   (e.g. a control character in the path).
   */
  send(request: RawRequest): Promise<RawResponse> {
    return this.attempt(request).catch((error: Error & { reusedSocket?: boolean }) => {
      // A kept-alive connection the server closed just as it was reused resets before any answer: one retry on a new one (Node's guidance for agents).
      if (error.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') return this.attempt(request);
      throw error;
    });
  }

  private attempt(request: RawRequest): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...request.headers };
      const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
      if (body) headers['content-length'] = body.length;
      let settled = false;
      let answered = false;
      const settle = (error: Error | undefined, response?: RawResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(Object.assign(error, { reusedSocket: req.reusedSocket && !answered }));
        else resolve(response!);
      };
      const req = http.request(
        { host: this.origin.hostname, port: this.origin.port, method: request.method.toUpperCase(), path: request.path, headers, agent: this.agent },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            settle(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', (e) => {
            settle(e);
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        settle(new Error(`no complete answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      // A server that answers before reading the whole body may close while it is still being written: the answer counts.
      req.on('error', (e) => {
        settle(e);
      });
      req.end(body);
    });
  }

  /** Ends the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/**
 * What is wrong with an answer, or `undefined` when it has the property the
 * fuzzer asserts: a status below 500, and every 4xx an RFC 9457 problem
 * (`application/problem+json`) whose `status` member equals the response's
 * status (section 3.1.3). A HEAD answer has no body to check.
 */
export function propertyViolation(request: RawRequest, response: RawResponse): string | undefined {
  if (response.status >= 500) return `${response.status}`;
  if (response.status < 400) return undefined;
  const mediaType = String(response.headers['content-type'] ?? '')
    .split(';')[0]
    .trim();
  if (mediaType !== 'application/problem+json') return `${response.status} as ${mediaType || 'no content type'}`;
  if (request.method.toLowerCase() === 'head') return undefined;
  let status: unknown;
  try {
    status = (JSON.parse(response.text) as { status?: unknown }).status;
  } catch {
    return `${response.status} with a body that is not JSON`;
  }
  return status === response.status ? undefined : `${response.status} with status member ${JSON.stringify(status)}`;
}

/** The `type` member of a problem answer, or `undefined`. */
export function problemType(response: RawResponse): string | undefined {
  try {
    const type = (JSON.parse(response.text) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A curl command line that sends `request` to `$API` (the origin), for a
 * report. Bodies longer than `maxBody` characters are written as a shell
 * expression that rebuilds them when they are one character repeated around
 * a short text, else cut with a note.
 */
export function curlOf(request: RawRequest, maxBody = 400): string {
  const parts = [`curl -si -X ${request.method.toUpperCase()}`, `"$API"${shellQuote(request.path)}`];
  for (const [name, value] of Object.entries(request.headers)) parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  if (request.body !== undefined) {
    if (request.body.length <= maxBody) parts.push(`--data-binary ${shellQuote(request.body)}`);
    else parts.push(`--data-binary "$(${longTextExpression(request.body)})"`);
  }
  return parts.join(' ');
}

/** A shell expression printing `text`: runs of one character longer than 40 become `printf` repeats. */
function longTextExpression(text: string): string {
  const pieces: string[] = [];
  const runs = /(.)\1{40,}/gsu;
  let last = 0;
  for (const m of text.matchAll(runs)) {
    if (m.index > last) pieces.push(`printf %s ${shellQuote(text.slice(last, m.index))}`);
    pieces.push(`printf '${m[1] === '%' ? '%%' : m[1].replace(/'/g, `'\\''`)}%.0s' $(seq ${m[0].length})`);
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push(`printf %s ${shellQuote(text.slice(last))}`);
  return pieces.join('; ');
}
