/**
 * OpenAI's endpoints beside chat, as the mock answers them: `/v1/completions` (JSON and SSE),
 * `/v1/moderations`, `/v1/images/generations` and `/v1/audio/speech` (binary, or SSE with
 * `stream_format: "sse"`). Answers are deterministic so a test can recompute them
 * (`mockAudio`, `MOCK_IMAGE_B64`); stream faults (`cutAfterChunks` …) apply as everywhere.
 */
import { planAnswer } from "./Answer.js"
import { dataFrame, type Exchange, eventFrame, sendJson, sendSse } from "./Exchange.js"
import { openAIErrorBody } from "./OpenAIErrors.js"

const created = () => Math.floor(Date.now() / 1000)

const promptText = (prompt: unknown): string =>
  typeof prompt === "string"
    ? prompt
    : Array.isArray(prompt)
      ? prompt.filter((p) => typeof p === "string").join("\n")
      : ""

/** `POST /v1/completions` (legacy text completions). */
export const handleCompletions = (ex: Exchange, model: string): void => {
  const json = ex.json ?? {}
  const a = planAnswer(
    ex.behaviour,
    { lastUserText: promptText(json.prompt), endsWithToolResult: false, toolNames: [], promptChars: ex.bodyLength },
    ex.chunkCount,
    () => "",
  )
  const usage = {
    prompt_tokens: a.usage.inputTokens,
    completion_tokens: a.usage.outputTokens,
    total_tokens: a.usage.inputTokens + a.usage.outputTokens,
  }
  const base = { id: `cmpl-mock${ex.seq}`, object: "text_completion", created: created(), model }
  if (json.stream !== true) {
    return sendJson(ex, 200, {
      ...base,
      choices: [{ text: a.text, index: 0, logprobs: null, finish_reason: a.finishReason }],
      usage,
    })
  }
  const chunk = (text: string, finish: string | null) =>
    dataFrame({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: finish }] })
  const frames = [...a.chunks.map((c) => chunk(c, null)), chunk("", a.finishReason)]
  if (json.stream_options?.include_usage === true) frames.push(dataFrame({ ...base, choices: [], usage }))
  frames.push("data: [DONE]\n\n")
  sendSse(ex, {
    frames,
    terminalCount: 1,
    malformedFrame: "data: {not json\n\n",
    errorFrame: () => dataFrame(openAIErrorBody(500)),
  })
}

const CATEGORIES = [
  "harassment",
  "harassment/threatening",
  "hate",
  "hate/threatening",
  "illicit",
  "illicit/violent",
  "self-harm",
  "self-harm/intent",
  "self-harm/instructions",
  "sexual",
  "sexual/minors",
  "violence",
  "violence/graphic",
]

/** `POST /v1/moderations`: flags an input that says "violence". */
export const handleModerations = (ex: Exchange, model: string): void => {
  const input = ex.json?.input
  const inputs: Array<unknown> = Array.isArray(input) ? input : [input]
  sendJson(ex, 200, {
    id: `modr-mock${ex.seq}`,
    model,
    results: inputs.map((i) => {
      const flagged = typeof i === "string" && /violence/i.test(i)
      return {
        flagged,
        categories: Object.fromEntries(CATEGORIES.map((c) => [c, flagged && c === "violence"])),
        category_scores: Object.fromEntries(CATEGORIES.map((c) => [c, flagged && c === "violence" ? 0.9 : 0.001])),
        category_applied_input_types: Object.fromEntries(CATEGORIES.map((c) => [c, ["text"]])),
      }
    }),
  })
}

/** The image every generation answers: a 1×1 transparent PNG. */
export const MOCK_IMAGE_B64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/** `POST /v1/images/generations` (gpt-image style: base64 images and token usage; SSE with `stream: true`). */
export const handleImages = (ex: Exchange): void => {
  const json = ex.json ?? {}
  const n = typeof json.n === "number" ? json.n : 1
  const usage = {
    total_tokens: 60,
    input_tokens: 10,
    output_tokens: 50,
    input_tokens_details: { text_tokens: 10, image_tokens: 0 },
  }
  if (json.stream !== true) {
    return sendJson(ex, 200, {
      created: created(),
      data: Array.from({ length: n }, () => ({ b64_json: MOCK_IMAGE_B64 })),
      usage,
    })
  }
  const event = (type: string, extra: object) =>
    eventFrame(type, {
      type,
      created_at: created(),
      size: "1024x1024",
      quality: "low",
      background: "opaque",
      output_format: "png",
      ...extra,
    })
  sendSse(ex, {
    frames: [
      event("image_generation.partial_image", { partial_image_index: 0, b64_json: MOCK_IMAGE_B64 }),
      event("image_generation.completed", { b64_json: MOCK_IMAGE_B64, usage }),
    ],
    terminalCount: 1,
    malformedFrame: "data: {not json\n\n",
    errorFrame: () => eventFrame("error", openAIErrorBody(500)),
  })
}

/** The audio `/v1/audio/speech` answers for an input: 1000 bytes per character, a fixed pattern. */
export const mockAudio = (input: string): Buffer => {
  const bytes = Buffer.alloc(input.length * 1000)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + input.length) & 0xff
  return bytes
}

const AUDIO_CHUNK = 16 * 1024

/** Writes `bytes` in 16 KiB chunks with backpressure, `chunkDelayMs` apart; `cutAfterChunks` destroys the socket after that many. */
const sendBinary = (ex: Exchange, bytes: Buffer, contentType: string): void => {
  const { res, behaviour } = ex
  res.writeHead(200, { "content-type": contentType, "content-length": bytes.length, ...behaviour.headers })
  let i = 0
  const step = (): void => {
    while (!res.destroyed) {
      if (behaviour.cutAfterChunks === i) {
        ex.markFaulted()
        res.socket?.destroy()
        return
      }
      if (i * AUDIO_CHUNK >= bytes.length) return void res.end()
      const chunk = bytes.subarray(i * AUDIO_CHUNK, ++i * AUDIO_CHUNK)
      const flushed = res.write(chunk)
      const delay = behaviour.chunkDelayMs ?? 0
      if (delay > 0) return void ex.later(delay, step)
      if (!flushed) return void res.once("drain", step)
    }
  }
  step()
}

/** `POST /v1/audio/speech`: `mockAudio(input)` as `audio/mpeg` (or its format), or SSE with `stream_format: "sse"`. */
export const handleSpeech = (ex: Exchange): void => {
  const json = ex.json ?? {}
  const audio = mockAudio(typeof json.input === "string" ? json.input : "")
  if (json.stream_format !== "sse")
    return sendBinary(ex, audio, json.response_format === "wav" ? "audio/wav" : "audio/mpeg")
  const usage = { input_tokens: 5, output_tokens: 7, total_tokens: 12 }
  sendSse(ex, {
    frames: [
      dataFrame({ type: "speech.audio.delta", audio: audio.subarray(0, audio.length / 2).toString("base64") }),
      dataFrame({ type: "speech.audio.delta", audio: audio.subarray(audio.length / 2).toString("base64") }),
      dataFrame({ type: "speech.audio.done", usage }),
    ],
    terminalCount: 1,
    malformedFrame: "data: {not json\n\n",
    errorFrame: () => dataFrame(openAIErrorBody(500)),
  })
}
