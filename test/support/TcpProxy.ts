import * as net from "node:net"

/**
 * A loopback TCP proxy in front of a store (Postgres, Redis), so a test can take the store away
 * from the gateway and give it back without touching the real server other tests share.
 *
 * - `cut()`: closes every connection and refuses new ones (the store "stopped");
 * - `restore()`: listens again on the same port.
 */
export interface TcpProxy {
  readonly port: number
  /** `url` with its host and port replaced by the proxy's. */
  readonly rewrite: (url: string) => string
  readonly cut: () => Promise<void>
  /** Holds what the store sends on the open connections for `ms` (a store that answers late). */
  readonly holdReplies: (ms: number) => void
  readonly restore: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startTcpProxy = async (
  targetHost: string,
  targetPort: number,
  options: {
    /** Holds what the store sends on each new connection this long (a slow handshake). */
    readonly firstReplyDelayMs?: number
  } = {},
): Promise<TcpProxy> => {
  const sockets = new Set<net.Socket>()
  const pairs = new Set<{ readonly client: net.Socket; readonly upstream: net.Socket }>()
  let server: net.Server | undefined
  let port = 0

  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => socket.destroy())
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost)
        track(client)
        track(upstream)
        client.pipe(upstream)
        if (options.firstReplyDelayMs === undefined) upstream.pipe(client)
        else {
          upstream.pause()
          setTimeout(() => upstream.pipe(client), options.firstReplyDelayMs)
        }
        const pair = { client, upstream }
        pairs.add(pair)
        client.on("close", () => {
          pairs.delete(pair)
          upstream.destroy()
        })
        upstream.on("close", () => client.destroy())
      })
      s.once("error", reject)
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port
        server = s
        resolve()
      })
    })

  const cut = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      if (server === undefined) return resolve()
      const s = server
      server = undefined
      s.close(() => resolve())
    })

  await listen()
  return {
    port,
    rewrite: (url) => {
      const parsed = new URL(url)
      parsed.hostname = "127.0.0.1"
      parsed.port = String(port)
      return parsed.toString()
    },
    cut,
    holdReplies: (ms) => {
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client)
        upstream.pause()
        setTimeout(() => upstream.pipe(client), ms)
      }
    },
    restore: listen,
    close: cut,
  }
}

/** Whether something accepts TCP connections at host:port (within `timeoutMs`). */
export const reachable = (host: string, port: number, timeoutMs = 1_000): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, host)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
