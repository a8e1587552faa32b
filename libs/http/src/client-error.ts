import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, problem } from './problem';

// Built once: the parser's refusals are answered before any request object exists.
const CLIENT_ERROR_RESPONSES = {
  headerTooLarge: clientErrorResponse(
    '431 Request Header Fields Too Large',
    problem('request-header-too-large', 'The request line and headers exceed the server limit'),
  ),
  malformed: clientErrorResponse('400 Bad Request', problem('validation-failed', 'The HTTP request is malformed')),
  timeout: clientErrorResponse(
    '408 Request Timeout',
    problem('request-timeout', 'The request line, headers or body did not arrive in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS)'),
  ),
};

function clientErrorResponse(statusLine: string, body: object): string {
  const json = JSON.stringify(body);
  return `HTTP/1.1 ${statusLine}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`;
}

/**
 * Fastify's `clientErrorHandler` for every server of the product: answers a
 * request Node's HTTP parser refused (raw non-ASCII in the target, bad
 * headers) and closes the connection: 431 with a `request-header-too-large`
 * problem when the headers overflow the parser's limit (RFC 6585 section 5),
 * 408 `request-timeout` when the headers or the request timeout expired,
 * else 400 `validation-failed` (request smuggling shapes among them:
 * `Content-Length` with `Transfer-Encoding`, two different `Content-Length`s). The body's `status` is the response's
 * (RFC 9457 section 3.1.3).
 */
export function writeClientErrorProblem(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const response =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? CLIENT_ERROR_RESPONSES.headerTooLarge
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? CLIENT_ERROR_RESPONSES.timeout
        : CLIENT_ERROR_RESPONSES.malformed;
  socket.end(response);
}

/**
 * The server's `timeout` handler (the socket was idle for
 * `HTTP_BODY_TIMEOUT_MS`): a request whose body stalled gets a 408
 * `request-timeout` problem and the connection closes once it is written;
 * a request received whole whose handler is still working is left alone
 * (the timeout bounds the client, not the server: the write of its
 * response re-arms it); an idle keep-alive connection, a connection that
 * never sent a request or a response the client stopped reading is closed
 * at once (as Node does without this handler).
 */
export function closeTimedOutSocket(socket: Socket): void {
  // Node's own socket timeout handling reads the same internal: the response the socket is writing.
  const response = (socket as Socket & { _httpMessage?: { headersSent: boolean; req?: { complete: boolean } } | null })._httpMessage;
  if (response && !response.headersSent && socket.writable) {
    if (response.req?.complete === false) {
      socket.end(CLIENT_ERROR_RESPONSES.timeout, () => socket.destroy());
      return;
    }
    // The request is in and its handler still works: not an idle client. The response's first write re-arms the timeout.
    return;
  }
  socket.destroy();
}
