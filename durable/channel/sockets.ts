/** What a channel socket carries through hibernation (serializeAttachment). */
export interface ChannelSocket {
  userId: string;
  deviceId: string;
  /** Access-token expiry, seconds since the epoch: past it the socket is closed with 4401. */
  exp: number;
}

export function socketInfo(ws: WebSocket): ChannelSocket {
  return ws.deserializeAttachment() as ChannelSocket;
}

/** Sends without throwing: a socket that is closing must not fail the work that broadcasts. */
export function sendRaw(ws: WebSocket, data: string): void {
  try {
    ws.send(data);
  } catch {
    // The close handler cleans up; nothing to do for a socket that is already gone.
  }
}
