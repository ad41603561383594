import * as Http from "node:http"
import * as Net from "node:net"

/**
 * After a 413 the rest of the body is read and dropped for a short while ("lingering close"):
 * closing a socket with unread data resets the connection, and a client still sending would often
 * lose the 413 it was sent. Past these bounds the socket is destroyed anyway.
 */
const LINGER_BYTES = 4 * 1024 * 1024
const LINGER_MS = 2_000

/**
 * A request that can hold its body: the server sets `bodyLimit` on requests it will hand to the
 * Effect app only once their body is complete. Until then every chunk the HTTP parser delivers is
 * counted and kept in the stream's buffer (no backpressure: the limit bounds it); past the limit
 * `onOverLimit` runs once and the rest is dropped (see `linger`); `onComplete` runs when the body
 * has ended. Requests without a limit (the generation routes, which read their own body) pass
 * straight on.
 */
export class HeldRequest extends Http.IncomingMessage {
  bodyLimit = Number.POSITIVE_INFINITY
  bodyBytes = 0
  onOverLimit: (() => void) | undefined = undefined
  onComplete: (() => void) | undefined = undefined
  lingering = false

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.bodyLimit === Number.POSITIVE_INFINITY) return super.push(chunk, encoding)
    if (this.lingering) {
      // Refused: the body is dropped; once it ended the connection closes cleanly.
      if (chunk === null) Net.Socket.prototype.destroySoon.call(this.socket)
      else if ((this.bodyBytes += (chunk as Buffer).length) > this.bodyLimit + LINGER_BYTES) this.socket.destroy()
      return true
    }
    if (chunk === null) {
      const complete = this.onComplete
      this.onComplete = undefined
      super.push(null)
      complete?.()
      return false
    }
    this.bodyBytes += (chunk as Buffer).length
    if (this.bodyBytes > this.bodyLimit) {
      const over = this.onOverLimit
      this.onOverLimit = this.onComplete = undefined
      over?.()
      return true
    }
    super.push(chunk, encoding)
    return true
  }

  /** Drops the rest of the body for at most `LINGER_MS` / `LINGER_BYTES`, then closes. */
  linger(limit: number): void {
    this.bodyLimit = limit
    this.lingering = true
    this.resume()
    const socket = this.socket
    // Node follows a `connection: close` answer with `destroySoon`, which would close with the
    // body unread: only our side is closed (FIN after the answer) while the rest is read and dropped.
    socket.destroySoon = () => {
      if (socket.writable) socket.end()
    }
    const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref()
    socket.once("close", () => clearTimeout(timer))
  }
}

/**
 * After an answer given before the body was read (a refused upload): the rest of the body is read
 * and dropped for a short while, then the connection closes, so that a client still sending sees
 * the answer rather than a reset connection.
 */
export const lingerUnread = (request: Http.IncomingMessage): void => {
  if (request instanceof HeldRequest && !request.lingering && !request.complete) request.linger(0)
}
