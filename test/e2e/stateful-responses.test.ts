import OpenAI from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, type ReceivedRequest, startMockProvider } from "../../src/mock/MockProvider.js"
import { gatewayApi } from "../support/GatewayApi.js"
import { containsInOrder } from "../support/InOrder.js"
import { validateOpenAi } from "../support/OpenApiSpec.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

/**
 * Stateful Responses through the official `openai` SDK (issue 14 item 3): `store`,
 * `previous_response_id` over three turns, `responses.retrieve`, `responses.inputItems.list` and
 * `responses.delete`, JSON and streamed, on every upstream protocol — an OpenAI provider that keeps
 * responses itself (the mock's own store), an OpenAI-compatible one that does not, Anthropic,
 * Gemini, and an OpenAI provider reached through chat — plus tenancy, the size cap, refusals.
 */

const MAX_BYTES = 8000

const UPSTREAMS = [
  { model: "gpt-native", path: "/v1/responses", native: true },
  { model: "gpt-4o-mini", path: "/v1/responses", native: false },
  { model: "claude-haiku-4-5", path: "/v1/messages", native: false },
  { model: "gemini-2.5-flash", path: "/v1beta/models/gemini-2.5-flash:generateContent", native: false },
  { model: "chat-only", path: "/v1/chat/completions", native: false },
] as const

/** The text of an item (a message's parts or string content). */
const itemText = (item: unknown): string => {
  const content = (item as { content?: unknown }).content
  if (typeof content === "string") return content
  return Array.isArray(content) ? content.map((part: { text?: string }) => part.text ?? "").join("") : ""
}

/** The response's `store` field (not in the SDK's type). */
const storeOf = (response: object): unknown => (response as { store?: unknown }).store

describe("stateful Responses through the openai SDK", () => {
  let mock: MockProvider
  let gateway: TestGateway
  let openai: OpenAI

  const { createUser, createKey } = gatewayApi(
    () => gateway.url,
    () => gateway.masterKey,
  )

  /** Two clients of a fresh user, each with its own API key. */
  const userClient = async (username: string) => {
    const userId = await createUser(username)
    const client = async (name: string) =>
      new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: (await createKey(userId, name)).token, maxRetries: 0 })
    return { first: await client(`${username}-1`), second: await client(`${username}-2`) }
  }

  /** One turn, JSON or streamed; a stream's every response object must carry the final id. */
  const turn = async (
    client: OpenAI,
    model: string,
    input: string,
    options: { readonly previous?: string; readonly stream?: boolean; readonly extra?: Record<string, unknown> } = {},
  ): Promise<OpenAI.Responses.Response> => {
    const body = {
      model,
      input,
      ...(options.previous !== undefined ? { previous_response_id: options.previous } : {}),
      ...options.extra,
    }
    if (options.stream !== true)
      return client.responses.create(body as OpenAI.Responses.ResponseCreateParamsNonStreaming)
    const stream = client.responses.stream(body as OpenAI.Responses.ResponseCreateParamsStreaming)
    const ids: Array<string> = []
    stream.on("event", (event) => {
      if ("response" in event) ids.push(event.response.id)
    })
    const final = await stream.finalResponse()
    expect(ids.length).toBeGreaterThanOrEqual(2)
    expect(new Set(ids)).toEqual(new Set([final.id]))
    return final
  }

  const lastTo = (path: string): ReceivedRequest => {
    const found = mock.received.filter((r) => r.method === "POST" && r.path.startsWith(path.replace(/:.*$/, "")))
    expect(found.length).toBeGreaterThan(0)
    return found.at(-1)!
  }

  beforeAll(async () => {
    mock = await startMockProvider({ models: UPSTREAMS.map((u) => u.model) })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000", RESPONSES_MAX_BYTES: String(MAX_BYTES), MIDSTREAM_RESCUES: "0" },
      gatewayFile: {
        providers: [
          {
            id: "native",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-native" }],
            models: ["gpt-native"],
            responses_store: true,
          },
          {
            id: "compat",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-compat" }],
            models: ["gpt-4o-mini"],
          },
          {
            id: "claude",
            protocol: "anthropic",
            base_url: mock.url,
            keys: [{ value: "sk-ant-claude" }],
            models: ["claude-haiku-4-5"],
          },
          {
            id: "gem",
            protocol: "gemini",
            base_url: mock.url,
            keys: [{ value: "gem-key" }],
            models: ["gemini-2.5-flash"],
          },
          {
            id: "nores",
            protocol: "openai",
            base_url: mock.url,
            keys: [{ value: "sk-nores" }],
            models: ["chat-only"],
            paths: { responses: null },
          },
        ],
        logical_models: [
          {
            id: "mixed",
            upstreams: [
              { provider: "native", model: "gpt-native", priority: 0 },
              { provider: "claude", model: "claude-haiku-4-5", priority: 1 },
            ],
          },
        ],
      },
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
  })

  beforeEach(() => mock.reset())

  describe.each(UPSTREAMS)("$model", ({ model, path, native }) => {
    it.each([false, true])(
      "three turns with previous_response_id (stream: %s), then retrieve, list input items, delete",
      async (stream) => {
        const r1 = await turn(openai, model, "first", { stream, extra: { instructions: "be brief" } })
        expect(r1.output_text).toBe("Hello from mock: first")
        expect(storeOf(r1)).toBe(true)
        expect(r1.previous_response_id).toBeNull()
        // The provider's own id when it keeps the response; the gateway's own otherwise.
        if (native) expect(r1.id).toMatch(/^resp_mock/)
        else expect(r1.id).toMatch(/^resp_[A-Za-z0-9]{24}$/)

        const r2 = await turn(openai, model, "second", { stream, previous: r1.id })
        expect(r2.previous_response_id).toBe(r1.id)
        expect(r2.output_text).toBe("Hello from mock: second")
        const r3 = await turn(openai, model, "third", { stream, previous: r2.id })
        expect(r3.output_text).toBe("Hello from mock: third")

        // The upstream answering turn 3 saw turns 1 and 2, without turn 1's instructions.
        const third = lastTo(path)
        const conversation = ["first", "Hello from mock: first", "second", "Hello from mock: second", "third"]
        if (native) {
          expect((third.body as { previous_response_id?: string }).previous_response_id).toBe(r2.id)
          expect(containsInOrder(JSON.stringify(mock.responses.get(r3.id)!.input), conversation)).toBe(true)
        } else {
          const sent = JSON.stringify(third.body)
          expect(containsInOrder(sent, conversation)).toBe(true)
          expect(sent).not.toContain("previous_response_id")
          expect(sent).not.toContain("be brief")
        }

        const retrieved = await openai.responses.retrieve(r3.id)
        expect(retrieved.id).toBe(r3.id)
        expect(retrieved.output_text ?? retrieved.output.map(itemText).join("")).toBe("Hello from mock: third")
        expect(retrieved.previous_response_id).toBe(r2.id)

        // The raw answers conform to OpenAI's OpenAPI document (a Responses upstream's own object is
        // relayed as the provider wrote it, with only the gateway's id and state fields).
        const raw = async (path: string) =>
          (
            await fetch(`${gateway.url}/v1/responses/${path}`, {
              headers: { authorization: `Bearer ${gateway.masterKey}` },
            })
          ).json()
        if (path !== "/v1/responses") expect(validateOpenAi("Response", await raw(r3.id))).toEqual([])
        expect(validateOpenAi("ResponseItemList", await raw(`${r3.id}/input_items?order=asc`))).toEqual([])

        const items: Array<unknown> = []
        for await (const item of openai.responses.inputItems.list(r3.id, { order: "asc", limit: 2 })) items.push(item)
        expect(items.map(itemText)).toEqual(conversation)
        const newest = await openai.responses.inputItems.list(r3.id)
        expect(itemText(newest.data[0])).toBe("third")

        expect(await openai.responses.delete(r3.id)).toMatchObject({ id: r3.id, deleted: true })
        await expect(openai.responses.retrieve(r3.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
        // A provider's own store was asked (with its key); the gateway's own copy never calls out.
        const reads = mock.received.filter((r) => r.method !== "POST")
        expect(reads.length > 0).toBe(native)
        for (const read of reads) expect(read.headers.authorization).toBe("Bearer sk-native")
      },
    )
  })

  it("another user's response is a 404 to read, list and delete, and an unknown previous response to continue; the owner's other key may continue", async () => {
    const alice = await userClient("alice")
    const bob = await userClient("bob")
    for (const model of ["claude-haiku-4-5", "gpt-native"]) {
      const mine = await turn(alice.first, model, "secret")
      const before = mock.received.length
      await expect(bob.first.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(bob.first.responses.inputItems.list(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      await expect(bob.first.responses.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      const stolen = await turn(bob.first, model, "more", { previous: mine.id }).catch((error: unknown) => error)
      expect(stolen).toBeInstanceOf(OpenAI.BadRequestError)
      expect((stolen as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("previous_response_not_found")
      // Nothing of bob's reached the provider holding alice's response.
      expect(mock.received.slice(before)).toEqual([])

      const next = await turn(alice.second, model, "again", { previous: mine.id })
      expect(next.previous_response_id).toBe(mine.id)
      expect((await alice.first.responses.retrieve(mine.id)).id).toBe(mine.id)
    }
  })

  it("store: false is not kept: not readable, and not a previous response", async () => {
    const unstored = await turn(openai, "claude-haiku-4-5", "forget me", { extra: { store: false } })
    expect(storeOf(unstored)).toBe(false)
    await expect(openai.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    const error = await turn(openai, "claude-haiku-4-5", "next", { previous: unstored.id }).catch((e: unknown) => e)
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("previous_response_not_found")
  })

  it.each([false, true])(
    "a response over RESPONSES_MAX_BYTES is answered with store: false and not kept (stream: %s)",
    async (stream) => {
      const big = await turn(openai, "gemini-2.5-flash", "x".repeat(MAX_BYTES), { stream })
      expect(big.output_text).toContain("Hello from mock")
      expect(storeOf(big)).toBe(false)
      await expect(openai.responses.retrieve(big.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
      expect(gateway.logs.some((line) => line.includes("not stored: over RESPONSES_MAX_BYTES"))).toBe(true)
    },
  )

  it("a stream that breaks is not stored: its id is not found", async () => {
    mock.script({ match: { path: "/v1/messages" }, cutAfterChunks: 3 })
    const stream = openai.responses.stream({ model: "claude-haiku-4-5", input: "cut me" })
    let id: string | undefined
    stream.on("response.created", (event) => (id = event.response.id))
    await expect(stream.finalResponse()).rejects.toThrow()
    expect(id).toMatch(/^resp_/)
    await expect(openai.responses.retrieve(id!)).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it("what only a provider's own store serves is refused by name elsewhere, and passed to one that has it", async () => {
    for (const [extra, name] of [
      [{ background: true }, "background"],
      [{ conversation: "conv_123" }, "conversation"],
    ] as const) {
      const error = await turn(openai, "claude-haiku-4-5", "hi", { extra }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as Error).message).toContain(name)
    }
    expect(mock.received).toEqual([])
    const background = await turn(openai, "gpt-native", "hi", { extra: { background: true } })
    expect((lastTo("/v1/responses").body as { background?: boolean }).background).toBe(true)
    expect(background.id).toMatch(/^resp_mock/)
    // Cancelling goes to the provider that keeps it; one the gateway keeps was never in the background.
    expect((await openai.responses.cancel(background.id)).status).toBe("cancelled")
    expect(mock.received.at(-1)).toMatchObject({ method: "POST", path: `/v1/responses/${background.id}/cancel` })
    const own = await turn(openai, "claude-haiku-4-5", "hi")
    await expect(openai.responses.cancel(own.id)).rejects.toBeInstanceOf(OpenAI.BadRequestError)
  })

  it("an unknown or malformed previous_response_id is a 400 naming it", async () => {
    for (const previous of ["resp_doesnotexist", "../../etc"]) {
      const error = await turn(openai, "claude-haiku-4-5", "hi", { previous }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.BadRequestError)
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("previous_response_id")
    }
    await expect(openai.responses.retrieve("resp_doesnotexist")).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })

  it.each([false, true])(
    "a conversation the gateway keeps stays with it, also when a provider with its own store answers the next turn (stream: %s)",
    async (stream) => {
      const first = await turn(openai, "claude-haiku-4-5", "begin", { stream })
      const next = await turn(openai, "gpt-native", "go on", { stream, previous: first.id })
      expect(next.id).toMatch(/^resp_[A-Za-z0-9]{24}$/)
      expect(next.previous_response_id).toBe(first.id)
      const sent = lastTo("/v1/responses").body as Record<string, unknown>
      expect(sent.previous_response_id).toBeUndefined()
      expect(sent.store).toBe(false)
      expect(containsInOrder(JSON.stringify(sent.input), ["begin", "Hello from mock: begin", "go on"])).toBe(true)
      const third = await turn(openai, "claude-haiku-4-5", "and on", { stream, previous: next.id })
      expect(
        containsInOrder(JSON.stringify(lastTo("/v1/messages").body), [
          "begin",
          "go on",
          "Hello from mock: go on",
          "and on",
        ]),
      ).toBe(true)
      expect((await openai.responses.retrieve(third.id)).previous_response_id).toBe(next.id)
    },
  )

  it("a conversation a provider keeps stays with it: when it fails, the follow-up fails clearly instead of going elsewhere", async () => {
    const first = await turn(openai, "mixed", "remember")
    expect(first.id).toMatch(/^resp_mock/)
    const before = mock.received.length
    mock.setDefault({ status: 503 })
    const error = await turn(openai, "mixed", "and now?", { previous: first.id }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBeGreaterThanOrEqual(500)
    expect(new Set(mock.received.slice(before).map((r) => r.path))).toEqual(new Set(["/v1/responses"]))
    mock.setDefault(undefined)
    const later = await turn(openai, "mixed", "and now?", { previous: first.id })
    expect(later.previous_response_id).toBe(first.id)
  })
})
