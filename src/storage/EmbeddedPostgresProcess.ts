/**
 * The embedded database's own process: PGlite (Postgres compiled to WASM) served on a loopback
 * port. Started by `Database.embedded` with an IPC channel; it reports `{ port }` (or
 * `{ error }`) once, and stops when told to or when its parent goes away.
 *
 * Why a process of its own: PGlite runs its queries synchronously on the thread that owns it,
 * and its WASM heap is a few hundred MB. In the gateway's process it would stall the event loop
 * during every query and count against the gateway's memory.
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"

export type EmbeddedMessage = { readonly port: number } | { readonly error: string }

const directory = process.argv[2]
const send = (message: EmbeddedMessage) => process.send?.(message)

const main = async () => {
  if (directory === undefined || process.send === undefined) {
    process.stderr.write("usage: started by the gateway with an IPC channel and the data directory\n")
    process.exit(2)
  }
  // The gateway's tables are small: 8 MB of shared buffers (1 024 pages) instead of Postgres'
  // 128 MB default. Postgres touches all of them at start, so each MB is a MB of resident memory
  // (16 → 8 MB: idle RSS −8 MB, bench/RESULTS.md); a page that does not fit is read again from
  // the data directory through the operating system's file cache.
  const db = await PGlite.create(directory, {
    startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=8MB"],
  })
  // Room for a reconnect overlapping the old socket's teardown; queries are serialized anyway.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 })
  await server.start()
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await server.stop().catch(() => undefined)
    await db.close().catch(() => undefined)
    process.exit(0)
  }
  process.on("message", (message) => {
    if (message === "stop") void stop()
  })
  // The parent is gone (crashed or exited): never outlive it.
  process.on("disconnect", () => void stop())
  process.on("SIGTERM", () => void stop())
  process.on("SIGINT", () => undefined)
  send({ port: Number(server.getServerConn().split(":")[1]) })
}

main().catch((error: unknown) => {
  send({ error: error instanceof Error ? error.message : String(error) })
  process.exit(1)
})
