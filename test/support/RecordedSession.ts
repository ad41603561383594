import * as fs from "node:fs"
import * as path from "node:path"
import { expect } from "vitest"
import type { Behaviour, ReceivedRequest } from "../../src/mock/MockProvider.js"
import { PROTOCOL_MODELS } from "./ProtocolProviders.js"
import type { RecordedCall } from "./RecordingFetch.js"

/**
 * A recorded client session (test/e2e/fixtures/<client>/session.json): the headers the client
 * sends on every request, and its requests in order, each with what the mock upstream answers
 * and what the client must see. Replayed by the `recorded-*` e2e tests against each protocol.
 */
export interface RecordedSession {
  readonly client: string
  readonly about: string
  readonly headers: Readonly<Record<string, string>>
  /** A query the client adds to every request (Claude Code: `beta=true`). */
  readonly query?: string
  readonly turns: ReadonlyArray<RecordedTurn>
}

export interface RecordedTurn {
  readonly name: string
  readonly kind: "messages" | "count_tokens" | "responses"
  readonly body: Record<string, unknown>
  readonly upstream?: Behaviour
  readonly expect?: {
    readonly stop_reason?: string
    readonly text?: string
    readonly tool_use?: { readonly name: string; readonly input: unknown }
    readonly function_call?: { readonly name: string; readonly arguments: unknown }
    /** `x-apiproxy-dropped` when the request is converted for another protocol (or per protocol). */
    readonly droppedWhenConverted?: string | Readonly<Partial<Record<ReplayTarget["protocol"], string>>>
    /** The request is refused, naming this, when it is converted for another protocol. */
    readonly refusedWhenConverted?: string
  }
}

export const loadSession = (client: string, name = "session"): RecordedSession =>
  JSON.parse(
    fs.readFileSync(path.join(import.meta.dirname, "..", "e2e", "fixtures", client, `${name}.json`), "utf8"),
  ) as RecordedSession

/** Where a replay sends the session: the model the client names, and how the provider spells it. */
export interface ReplayTarget {
  readonly protocol: "openai" | "anthropic" | "gemini"
  readonly provider: string
  readonly model: string
  readonly upstreamModel: string
}

export const REPLAY_TARGETS: ReadonlyArray<ReplayTarget> = [
  {
    protocol: "anthropic",
    provider: "claude",
    model: `claude/${PROTOCOL_MODELS.anthropic}`,
    upstreamModel: PROTOCOL_MODELS.anthropic,
  },
  {
    protocol: "openai",
    provider: "oai",
    model: `oai/${PROTOCOL_MODELS.openai}`,
    upstreamModel: PROTOCOL_MODELS.openai,
  },
  {
    protocol: "gemini",
    provider: "gem",
    model: `gem/${PROTOCOL_MODELS.gemini}`,
    upstreamModel: PROTOCOL_MODELS.gemini,
  },
]

/**
 * Passthrough fidelity: the upstream received exactly the client's body — same fields, same
 * order, same values, unknown ones included — with only `model` replaced.
 */
export const expectPassedThrough = (received: ReceivedRequest, clientBody: string, upstreamModel: string) => {
  const expected = { ...(JSON.parse(clientBody) as Record<string, unknown>), model: upstreamModel }
  expect(JSON.stringify(received.body)).toBe(JSON.stringify(expected))
}

/** Of the client's headers, only the allow-listed feature headers reach the upstream, and only these values. */
export const expectOnlyFeatureHeaders = (
  received: ReceivedRequest,
  session: RecordedSession,
  forwarded: ReadonlyArray<string>,
) => {
  for (const [name, value] of Object.entries(session.headers)) {
    if (forwarded.includes(name)) expect(received.headers[name], name).toBe(value)
    else if (name !== "accept") expect(received.headers[name], name).not.toBe(value)
  }
  for (const name of Object.keys(received.headers)) expect(name.startsWith("x-stainless"), name).toBe(false)
}

/** The client's own protocol: which path it is passed through to and which headers go along. */
export interface NativeUpstream {
  readonly protocol: ReplayTarget["protocol"]
  readonly path: string
  readonly forwarded: ReadonlyArray<string>
}

/**
 * One upstream call for the turn, by the target's provider: passed through byte for byte (with
 * the feature headers) when the target speaks the client's protocol, else converted — `converted`
 * checks what arrived — with what was left out named in `x-apiproxy-dropped`.
 */
export const expectUpstreamExchange = (
  replay: {
    readonly session: RecordedSession
    readonly turn: RecordedTurn
    readonly target: ReplayTarget
    readonly client: RecordedCall
  },
  received: ReadonlyArray<ReceivedRequest>,
  native: NativeUpstream,
  converted: (request: ReceivedRequest) => void,
) => {
  const { session, turn, target, client } = replay
  const headers = client.responseHeaders!
  expect(headers.get("x-apiproxy-provider")).toBe(target.provider)
  expect(received).toHaveLength(1)
  const request = received[0]!
  if (target.protocol === native.protocol) {
    expect(request.path).toBe(native.path)
    expectPassedThrough(request, client.body, target.upstreamModel)
    expectOnlyFeatureHeaders(request, session, native.forwarded)
    expect(headers.get("x-apiproxy-dropped")).toBeNull()
  } else {
    converted(request)
    const dropped = turn.expect?.droppedWhenConverted
    expect(headers.get("x-apiproxy-dropped")).toBe(
      (typeof dropped === "string" ? dropped : dropped?.[target.protocol]) ?? null,
    )
  }
}
