import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { open } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

/** A piece of the body sent upstream: a byte range of the spool file, or bytes held in memory. */
export type Piece = { readonly from: number; readonly to: number } | Buffer

/** Bytes read from the spool file per read: one buffer of this size per reader, reused. */
const READ_CHUNK = 64 * 1024

/**
 * An upload kept in a temporary file (os.tmpdir(), a unique name, readable by this user only)
 * so that it can be sent again to another upstream: written as the client sends it, read back
 * once per upstream call, removed when the request is over, however it ends.
 */
export interface UploadSpool {
  /** Appends `chunk`; `false`: wait for `onDrain` before the next. */
  readonly write: (chunk: Buffer) => boolean
  readonly onDrain: (listener: () => void) => void
  /** Ends writing; `done` once every byte is in the file, or with the error that stopped it. */
  readonly finish: (done: (error: Error | undefined) => void) => void
  /** The body made of `pieces`, read back as the upstream connection takes it (see `readPieces`). */
  readonly read: (pieces: ReadonlyArray<Piece>) => AsyncIterable<Uint8Array>
  /** Stops writing and deletes the file (a reader already open keeps its descriptor). Call as often as wanted. */
  readonly remove: () => void
}

/** A new spool file; `onError` hears a write that failed (a full disk). */
export const createSpool = (onError: (error: Error) => void): UploadSpool => {
  const file = path.join(os.tmpdir(), `apiproxy-upload-${randomUUID()}`)
  // `wx`: never an existing file (nor a link planted under the name); 0600: audio is the client's own.
  const out = fs.createWriteStream(file, { flags: "wx", mode: 0o600 })
  let removed = false
  out.on("error", (error) => {
    if (!removed) onError(error)
  })
  const unlink = () => fs.rm(file, { force: true }, () => {})
  return {
    write: (chunk) => out.write(chunk),
    onDrain: (listener) => void out.once("drain", listener),
    finish: (done) => {
      out.end()
      out.once("finish", () => done(undefined))
      out.once("error", (error) => done(error))
    },
    read: (pieces) => readPieces(file, pieces),
    remove: () => {
      if (removed) return
      removed = true
      // Deleted once the stream has closed: a file still being opened would otherwise appear after its deletion.
      if (out.closed) return unlink()
      out.once("close", unlink)
      out.destroy()
    },
  }
}

/**
 * Reads `pieces` with one buffer, reused: a full chunk is handed out as that buffer, and the next
 * read overwrites it only when the consumer asks for the next chunk. undici asks only once the
 * previous chunk was written to the socket (it waits for `drain` after every write a 64 KiB chunk
 * makes, which is at least the socket's high-water mark), so a buffer handed out is never
 * overwritten while the kernel may still read it. A short read (the end of a range) is copied:
 * it may stay queued behind a write in flight. This keeps the memory an upload costs to one buffer
 * instead of a fresh one per read, which V8 would collect only much later (MultipartUpload).
 */
async function* readPieces(file: string, pieces: ReadonlyArray<Piece>): AsyncGenerator<Uint8Array> {
  const handle = await open(file, "r")
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK)
    for (const piece of pieces) {
      if (Buffer.isBuffer(piece)) {
        if (piece.length > 0) yield piece
        continue
      }
      for (let at = piece.from; at < piece.to; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_CHUNK, piece.to - at), at)
        if (bytesRead === 0) throw new Error("the spooled upload ended early")
        at += bytesRead
        yield bytesRead === READ_CHUNK ? buffer : Buffer.from(buffer.subarray(0, bytesRead))
      }
    }
  } finally {
    await handle.close()
  }
}
