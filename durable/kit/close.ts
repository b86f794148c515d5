/**
 * Answers a client's close frame. Without this the runtime leaves the closing
 * handshake open and the client waits for its own timeout (30 s for `ws`) to finish.
 * 1005 and 1006 describe a close without a code and may not be sent back.
 */
export function answerClose(ws: WebSocket, code: number, reason: string): void {
  const sendable =
    code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006);
  try {
    ws.close(sendable ? code : 1000, reason);
  } catch {
    // Already closed: nothing to answer.
  }
}
