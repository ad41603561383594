/**
 * Conversation context: with `X-Session-Id`, each served exchange is kept as a small JSON entry
 * `{at, provider, model, stream, complete, request, response}` in Kv, per owner (the API key or
 * user, `sessionOwner`) and session id — so one tenant cannot read another's history by guessing
 * its id (session ids are chosen by clients).
 *
 * Bounded in every direction, so no client can grow the store or the request path without limit: at most `SESSION_CONTEXT_MAX_ENTRIES` entries per session
 * (newest kept), each snippet cut to `SESSION_CONTEXT_MAX_BYTES` bytes with a marker, every list
 * expiring after `SESSION_CONTEXT_TTL` without writes. Writes go through a bounded queue drained
 * by one background fiber, off the request's critical path; a full queue drops the entry (with a
 * warning) rather than slow requests, and the queue is drained when the layer shuts down.
 *
 * An owners index per session id lets an admin read a session's entries whoever wrote them.
 */
import { Clock, Config, Duration, Effect, Option, Queue, Schema } from "effect"
import { normalizeSessionId } from "../routing/Stickiness.js"
import { durationConfig } from "../shared/DurationConfig.js"
import { Kv } from "../storage/Kv.js"
import { kvRecord } from "../storage/KvRecord.js"

export const ContextEntry = Schema.Struct({
  /** ISO 8601 time the exchange finished. */
  at: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  stream: Schema.Boolean,
  /** False for a stream that ended with an error after it started. */
  complete: Schema.Boolean,
  /** The client's request body (JSON text), possibly truncated. */
  request: Schema.String,
  /** The answer as the client got it (JSON text, or the first client SSE frames), possibly truncated. */
  response: Schema.String,
})
export type ContextEntry = typeof ContextEntry.Type

const { decode: decodeEntry, encode: encodeEntry } = kvRecord(ContextEntry)

export interface ContextWrite {
  readonly owner: string
  readonly sessionId: string
  readonly provider: string
  readonly model: string
  readonly stream: boolean
  readonly complete: boolean
  readonly request: string
  readonly response: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** `text` cut to at most `maxBytes` UTF-8 bytes (plus a marker saying how much there was). */
export const truncateSnippet = (text: string, maxBytes: number): string => {
  const bytes = encoder.encode(text)
  if (bytes.length <= maxBytes) return text
  // A cut in the middle of a character decodes to U+FFFD: drop it.
  const head = decoder.decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, "")
  return `${head}…[truncated: ${bytes.length} bytes in all]`
}

/**
 * Collects at most `maxBytes` (UTF-8) of a text stream (the client frames of a streamed answer), so a
 * session's context costs bounded memory however long the answer is. Only created when the
 * request has a session id.
 */
export const makeSnippetCollector = (maxBytes: number) => {
  const parts: Array<Uint8Array> = []
  let kept = 0
  let total = 0
  return {
    add: (text: string): void => {
      const chunk = encoder.encode(text)
      total += chunk.length
      if (kept >= maxBytes) return
      const part = chunk.length <= maxBytes - kept ? chunk : chunk.subarray(0, maxBytes - kept)
      parts.push(part)
      kept += part.length
    },
    text: (): string => {
      const bytes = new Uint8Array(kept)
      let offset = 0
      for (const part of parts) {
        bytes.set(part, offset)
        offset += part.length
      }
      const head = decoder.decode(bytes)
      return total > kept ? `${head.replace(/\uFFFD+$/, "")}…[truncated: ${total} bytes in all]` : head
    },
  }
}

const entriesKey = (owner: string, sessionId: string) => `context:${owner}:${sessionId}`
const ownersKey = (sessionId: string) => `context-owners:${sessionId}`
const seenKey = (owner: string, sessionId: string) => `context-seen:${owner}:${sessionId}`

const MAX_OWNERS = 20
const QUEUE_CAPACITY = 1024

export const sessionContextConfig = Config.all({
  maxEntries: Config.integer("SESSION_CONTEXT_MAX_ENTRIES").pipe(Config.withDefault(50)),
  maxBytes: Config.integer("SESSION_CONTEXT_MAX_BYTES").pipe(Config.withDefault(8 * 1024)),
  ttl: durationConfig("SESSION_CONTEXT_TTL").pipe(Config.withDefault(Duration.seconds(7200))),
})

export class ConversationContext extends Effect.Service<ConversationContext>()(
  "gateway/conversation/ConversationContext",
  {
    scoped: Effect.gen(function* () {
      const kv = yield* Kv
      const config = yield* sessionContextConfig
      const queue = yield* Queue.dropping<ContextWrite>(QUEUE_CAPACITY)

      const write = Effect.fnUntraced(
        function* (w: ContextWrite) {
          const now = yield* Clock.currentTimeMillis
          const entry: ContextEntry = {
            at: new Date(now).toISOString(),
            provider: w.provider,
            model: w.model,
            stream: w.stream,
            complete: w.complete,
            request: truncateSnippet(w.request, config.maxBytes),
            response: truncateSnippet(w.response, config.maxBytes),
          }
          yield* kv.pushCapped(entriesKey(w.owner, w.sessionId), encodeEntry(entry), config.maxEntries, config.ttl)
          // The owners index gets each owner once per TTL period (the marker expires with it).
          if (yield* kv.setIfAbsent(seenKey(w.owner, w.sessionId), "1", config.ttl)) {
            yield* kv.pushCapped(ownersKey(w.sessionId), w.owner, MAX_OWNERS, config.ttl)
          }
        },
        Effect.catchAll((e) =>
          Effect.logWarning("session context write failed").pipe(Effect.annotateLogs({ error: e.message })),
        ),
      )

      // One writer, so a session's entries land in the order the exchanges finished.
      yield* Queue.take(queue).pipe(Effect.flatMap(write), Effect.forever, Effect.forkScoped)
      // On shutdown, what is still queued is written (briefly) rather than lost.
      yield* Effect.addFinalizer(() =>
        Queue.takeAll(queue).pipe(
          Effect.flatMap((pending) => Effect.forEach(pending, write, { discard: true })),
          Effect.timeout(Duration.seconds(2)),
          Effect.ignore,
        ),
      )

      /** Queues an entry; never blocks nor fails the request. */
      const append = Effect.fnUntraced(function* (w: ContextWrite) {
        const id = normalizeSessionId(w.sessionId)
        if (id === undefined) return
        const accepted = yield* Queue.offer(queue, { ...w, sessionId: id })
        if (!accepted) yield* Effect.logWarning("session context queue full: entry dropped")
      })

      const readList = (owner: string, id: string) =>
        kv
          .listRange(entriesKey(owner, id), 0, config.maxEntries - 1)
          .pipe(Effect.map((raw) => raw.flatMap((r) => Option.toArray(decodeEntry(r)))))

      /** The owner's entries of this session, newest first (empty when there are none). */
      const list = Effect.fnUntraced(function* (owner: string, sessionId: string) {
        const id = normalizeSessionId(sessionId)
        if (id === undefined) return [] as ReadonlyArray<ContextEntry>
        return yield* readList(owner, id)
      })

      /** Every owner's entries of this session (for admins), newest first, each with its owner. */
      const listAll = Effect.fnUntraced(function* (sessionId: string) {
        const id = normalizeSessionId(sessionId)
        if (id === undefined) return [] as ReadonlyArray<ContextEntry & { readonly owner: string }>
        const owners = [...new Set(yield* kv.listRange(ownersKey(id), 0, MAX_OWNERS - 1))]
        const lists = yield* Effect.forEach(owners, (owner) =>
          readList(owner, id).pipe(Effect.map((entries) => entries.map((e) => ({ ...e, owner })))),
        )
        return lists.flat().sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
      })

      return { append, list, listAll, config } as const
    }),
  },
) {}

/** What `makeSnippetCollector` returns: add text, read what was kept. */
export type SnippetCollector = ReturnType<typeof makeSnippetCollector>
