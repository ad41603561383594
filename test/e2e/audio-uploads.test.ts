import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import OpenAI, { toFile } from "openai"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { type MockProvider, startMockProvider } from "../../src/mock/MockProvider.js"
import { type MockForm, mockTranscript } from "../../src/mock/OpenAIAudioUpload.js"
import { freePort } from "../support/GatewayProcess.js"
import { tiered } from "../support/LogicalModels.js"
import { validateOpenAi } from "../support/OpenApiSpec.js"
import { passThroughProviders } from "../support/ProtocolProviders.js"
import { restrictedKey } from "../support/RestrictedKey.js"
import { startTestGateway, type TestGateway } from "../support/TestGateway.js"

const MODELS = ["gpt-4o-transcribe", "whisper-1"]
const LIMIT = 3 * 1024 * 1024

/** Deterministic "audio": `size` bytes of a pattern that differs for each `seed`. */
const audio = (size: number, seed = 1): Buffer => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff
  return bytes
}

const BOUNDARY = "----apiproxy-test-boundary-7MA4YWxkTrZu0gW"

type Part = {
  readonly name: string
  readonly value: string | Buffer
  readonly filename?: string
  readonly type?: string
}

/** A multipart body built by hand, parts in the order given (the SDK always puts the file first). */
const multipart = (parts: ReadonlyArray<Part>, boundary = BOUNDARY): Buffer =>
  Buffer.concat([
    ...parts.flatMap((part) => [
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}\r\n` +
          (part.type !== undefined ? `Content-Type: ${part.type}\r\n` : "") +
          "\r\n",
        "latin1",
      ),
      typeof part.value === "string" ? Buffer.from(part.value, "latin1") : part.value,
      Buffer.from("\r\n", "latin1"),
    ]),
    Buffer.from(`--${boundary}--\r\n`, "latin1"),
  ])

/** What an upstream must receive for `body`: the same bytes, the model's value replaced. */
const withModel = (body: Buffer, from: string, to: string): Buffer => {
  const needle = Buffer.from(`name="model"\r\n\r\n${from}\r\n`, "latin1")
  const at = body.indexOf(needle)
  if (at < 0) throw new Error("no model part")
  return Buffer.concat([
    body.subarray(0, at),
    Buffer.from(`name="model"\r\n\r\n${to}\r\n`, "latin1"),
    body.subarray(at + needle.length),
  ])
}

interface RawAnswer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

interface Upload {
  /** The request on the wire (to destroy it: a client that leaves). */
  readonly request: http.ClientRequest
  /** Writes more of the body; resolves once written. */
  readonly send: (bytes: Buffer) => Promise<void>
  readonly end: () => void
  /** The answer (rejects if the connection broke before one came). */
  readonly answer: Promise<RawAnswer>
}

/** A raw upload whose body the test writes piece by piece (`declare`: with content-length, else chunked). */
const startUpload = (
  gatewayUrl: string,
  key: string | undefined,
  pathname: string,
  options: { readonly contentType?: string; readonly declare?: number } = {},
): Upload => {
  const request = http.request(`${gatewayUrl}${pathname}`, {
    method: "POST",
    agent: false,
    headers: {
      ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}),
      "content-type": options.contentType ?? `multipart/form-data; boundary=${BOUNDARY}`,
      ...(options.declare !== undefined ? { "content-length": String(options.declare) } : {}),
    },
  })
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    request.on("response", (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }))
      response.on("error", reject)
    })
    request.on("error", reject)
  })
  // A write error once the answer came (the gateway closed) is expected.
  answer.catch(() => {})
  const send = (bytes: Buffer) =>
    new Promise<void>((resolve) => {
      if (request.destroyed) return resolve()
      if (request.write(bytes)) return resolve()
      const done = () => {
        request.off("drain", done)
        request.off("close", done)
        resolve()
      }
      request.once("drain", done)
      request.once("close", done)
    })
  return { request, send, end: () => void request.end(), answer }
}

/** Posts `body` whole. */
const postRaw = async (
  gatewayUrl: string,
  key: string | undefined,
  pathname: string,
  body: Buffer,
  contentType?: string,
): Promise<RawAnswer> => {
  const upload = startUpload(gatewayUrl, key, pathname, {
    ...(contentType !== undefined ? { contentType } : {}),
    declare: body.length,
  })
  await upload.send(body)
  upload.end()
  return upload.answer
}

const spoolFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.startsWith("apiproxy-upload-"))

const waitUntil = async (what: string, condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Issue 14 item 4: `/v1/audio/transcriptions` and `/v1/audio/translations`, multipart uploads
 * passed through to OpenAI-protocol providers with routing, failover, auth, allow-lists and usage;
 * the body forwarded byte for byte (only the model's value replaced), streamed when the model comes
 * first, spooled to a temporary file when the file does (the SDK's order) so failover can resend it.
 */
describe("audio uploads", () => {
  let mock: MockProvider
  let backup: MockProvider
  let gateway: TestGateway
  let openai: OpenAI
  let tmp: string
  const previousTmp = process.env.TMPDIR

  beforeAll(async () => {
    // This test process's own temporary directory: the gateway runs in it and spools there.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "apiproxy-audio-test-"))
    process.env.TMPDIR = tmp
    mock = await startMockProvider({ models: [...MODELS, "gemini-2.5-flash", "claude-haiku-4-5"] })
    backup = await startMockProvider({ models: MODELS })
    gateway = await startTestGateway({
      env: { CIRCUIT_FAILURE_THRESHOLD: "1000", AUDIO_BODY_LIMIT_BYTES: String(LIMIT) },
      gatewayFile: {
        providers: [
          ...passThroughProviders(mock.url, backup.url, MODELS),
          // Nothing listens there: every call is refused before a byte of its body is sent.
          {
            id: "down",
            protocol: "openai",
            base_url: `http://127.0.0.1:${await freePort()}`,
            keys: [{ value: "sk-down" }],
            models: ["whisper-1"],
          },
        ],
        logical_models: [
          tiered("transcribe", ["oai", "gpt-4o-transcribe"], ["oai2", "gpt-4o-transcribe"]),
          tiered("whisper", ["oai", "whisper-1"], ["oai2", "whisper-1"]),
          tiered("down-first", ["down", "whisper-1"], ["oai", "whisper-1"]),
        ],
      },
    })
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.masterKey, maxRetries: 0 })
  })

  afterAll(async () => {
    await gateway?.close()
    await mock?.close()
    await backup?.close()
    if (previousTmp === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previousTmp
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  beforeEach(() => {
    mock.reset()
    backup.reset()
  })

  const formOf = (upstream: MockProvider, n = 0): MockForm => {
    const form = upstream.received[n]!.form
    if (typeof form !== "object") throw new Error(`the upstream could not read the body: ${form}`)
    return form
  }

  describe("through the openai SDK (the file first: spooled)", () => {
    it("transcriptions.create: JSON, the model replaced, every other field and the file as sent; conforms to the OpenAPI document", async () => {
      const file = audio(300_000)
      const { data, response } = await openai.audio.transcriptions
        .create({
          file: await toFile(file, "speech.mp3", { type: "audio/mpeg" }),
          model: "transcribe",
          language: "en",
          temperature: 0.2,
          prompt: "Names: Ada",
        })
        .withResponse()
      expect(data.text).toBe(mockTranscript({ filename: "speech.mp3", bytes: file }))
      expect(validateOpenAi("CreateTranscriptionResponseJson", data)).toEqual([])
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai")
      expect(response.headers.get("x-apiproxy-model")).toBe("gpt-4o-transcribe")
      const received = mock.received[0]!
      expect(received.path).toBe("/v1/audio/transcriptions")
      expect(received.headers.authorization).toBe("Bearer sk-oai")
      expect(received.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      expect(Number(received.headers["content-length"])).toBe(received.raw!.length)
      const form = formOf(mock)
      expect(form.fields).toEqual([
        ["model", "gpt-4o-transcribe"],
        ["language", "en"],
        ["temperature", "0.2"],
        ["prompt", "Names: Ada"],
      ])
      expect(form.files).toHaveLength(1)
      expect(form.files[0]).toMatchObject({ name: "file", filename: "speech.mp3", contentType: "audio/mpeg" })
      expect(form.files[0]!.bytes.equals(file)).toBe(true)
    })

    it("response_format text, srt and vtt are relayed as the provider's text", async () => {
      const file = await toFile(audio(10_000), "a.wav", { type: "audio/wav" })
      const text = await openai.audio.transcriptions.create({ file, model: "whisper", response_format: "text" })
      expect(text).toBe(`${mockTranscript({ filename: "a.wav", bytes: audio(10_000) })}\n`)
      const srt = await openai.audio.transcriptions.create({
        file: await toFile(audio(10_000), "a.wav"),
        model: "whisper",
        response_format: "srt",
      })
      expect(srt).toMatch(/^1\n00:00:00,000 --> 00:00:03,000\nTranscript of a\.wav/)
      const { response } = await openai.audio.transcriptions
        .create({ file: await toFile(audio(10_000), "a.wav"), model: "whisper", response_format: "vtt" })
        .withResponse()
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8")
      expect(formOf(mock, 0).fields).toContainEqual(["model", "whisper-1"])
    })

    it("verbose_json conforms to the OpenAPI document", async () => {
      const answer = await openai.audio.transcriptions.create({
        file: await toFile(audio(5_000), "v.mp3"),
        model: "whisper",
        response_format: "verbose_json",
      })
      expect(validateOpenAi("CreateTranscriptionResponseVerboseJson", answer)).toEqual([])
      expect(answer.text).toContain("Transcript of v.mp3: 5000 bytes")
    })

    it("stream: true relays the transcript events as they come", async () => {
      const stream = await openai.audio.transcriptions.create({
        file: await toFile(audio(20_000), "s.mp3"),
        model: "transcribe",
        stream: true,
      })
      let done: unknown
      let text = ""
      for await (const event of stream) {
        if (event.type === "transcript.text.delta") {
          expect(validateOpenAi("TranscriptTextDeltaEvent", event)).toEqual([])
          text += event.delta
        } else if (event.type === "transcript.text.done") {
          expect(validateOpenAi("TranscriptTextDoneEvent", event)).toEqual([])
          done = event
        }
      }
      expect(text).toBe(mockTranscript({ filename: "s.mp3", bytes: audio(20_000) }))
      expect(done).toMatchObject({ text, usage: { type: "tokens" } })
      expect(mock.received[0]!.headers.accept).toBe("text/event-stream")
    })

    it("translations.create: JSON and text; conforms to the OpenAPI document", async () => {
      const json = await openai.audio.translations.create({
        file: await toFile(audio(8_000), "de.mp3"),
        model: "whisper",
      })
      expect(validateOpenAi("CreateTranslationResponseJson", json)).toEqual([])
      expect(json.text).toBe(mockTranscript({ filename: "de.mp3", bytes: audio(8_000) }))
      expect(mock.received[0]!.path).toBe("/v1/audio/translations")
      const verbose = await openai.audio.translations.create({
        file: await toFile(audio(8_000), "de.mp3"),
        model: "whisper",
        response_format: "verbose_json",
      })
      expect(validateOpenAi("CreateTranslationResponseVerboseJson", verbose)).toEqual([])
      const text = await openai.audio.translations.create({
        file: await toFile(audio(8_000), "de.mp3"),
        model: "whisper",
        response_format: "text",
      })
      expect(text).toBe(`${json.text}\n`)
    })

    it("fails over to the next provider after a 503: the spooled body is sent again, identical", async () => {
      mock.setDefault({ status: 503 })
      const file = audio(1_000_000, 3)
      const { data, response } = await openai.audio.transcriptions
        .create({ file: await toFile(file, "long.mp3"), model: "transcribe" })
        .withResponse()
      expect(data.text).toBe(mockTranscript({ filename: "long.mp3", bytes: file }))
      expect(response.headers.get("x-apiproxy-provider")).toBe("oai2")
      const first = mock.received.filter((r) => r.path === "/v1/audio/transcriptions")
      expect(first.length).toBeGreaterThanOrEqual(1)
      for (const earlier of first) expect(earlier.raw!.equals(backup.received[0]!.raw!)).toBe(true)
      expect(formOf(backup).files[0]!.bytes.equals(file)).toBe(true)
      await waitUntil("the spool file is deleted", () => spoolFiles(tmp).length === 0)
    })

    it("a file over AUDIO_BODY_LIMIT_BYTES is a 413 in OpenAI's shape", async () => {
      const error = await openai.audio.transcriptions
        .create({ file: await toFile(audio(LIMIT + 1), "big.mp3"), model: "transcribe" })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413)
      expect((error as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
        type: "invalid_request_error",
        code: "request_too_large",
      })
      expect(mock.received).toHaveLength(0)
    })
  })

  describe("byte for byte, in either order", () => {
    it("model first: routed before the body is in, streamed to the upstream as it comes (never held whole)", async () => {
      const file = audio(2_000_000, 5)
      const body = multipart([
        { name: "model", value: "transcribe" },
        { name: "response_format", value: "json" },
        { name: "file", value: file, filename: "stream.wav", type: "audio/wav" },
      ])
      const upload = startUpload(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", { declare: body.length })
      // The first 256 KiB only: the upstream call must begin while most of the body is unsent.
      await upload.send(body.subarray(0, 256 * 1024))
      await waitUntil("the upstream call begins", () => mock.received.length === 1)
      expect(mock.received[0]!.finished).toBe(false)
      await upload.send(body.subarray(256 * 1024))
      upload.end()
      const answer = await upload.answer
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.body).text).toBe(mockTranscript({ filename: "stream.wav", bytes: file }))
      expect(mock.received[0]!.raw!.equals(withModel(body, "transcribe", "gpt-4o-transcribe"))).toBe(true)
      expect(Number(mock.received[0]!.headers["content-length"])).toBe(mock.received[0]!.raw!.length)
      expect(mock.received[0]!.headers["content-type"]).toBe(`multipart/form-data; boundary=${BOUNDARY}`)
    })

    it("model first, chunked: forwarded chunked, byte for byte", async () => {
      const body = multipart([
        { name: "model", value: "oai/whisper-1" },
        { name: "file", value: audio(100_000), filename: "c.wav" },
      ])
      const upload = startUpload(gateway.url, gateway.masterKey, "/v1/audio/transcriptions")
      for (let at = 0; at < body.length; at += 7_000) await upload.send(body.subarray(at, at + 7_000))
      upload.end()
      expect((await upload.answer).status).toBe(200)
      expect(mock.received[0]!.headers["transfer-encoding"]).toBe("chunked")
      expect(mock.received[0]!.raw!.equals(withModel(body, "oai/whisper-1", "whisper-1"))).toBe(true)
    })

    it("model first: a 503 from the upstream is the client's answer (the body is gone: no failover)", async () => {
      mock.setDefault({ status: 503, errorMessage: "overloaded, try later" })
      const body = multipart([
        { name: "model", value: "transcribe" },
        { name: "file", value: audio(50_000), filename: "x.wav" },
      ])
      const answer = await postRaw(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", body)
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body).error.message).toContain("overloaded, try later")
      expect(backup.received).toHaveLength(0)
    })

    it("model first: a call refused before it sent a byte moves on to the next provider", async () => {
      const body = multipart([
        { name: "model", value: "down-first" },
        { name: "file", value: audio(200_000), filename: "retry.wav" },
      ])
      const answer = await postRaw(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", body)
      expect(answer.status).toBe(200)
      expect(answer.headers["x-apiproxy-provider"]).toBe("oai")
      expect(mock.received[0]!.raw!.equals(withModel(body, "down-first", "whisper-1"))).toBe(true)
    })

    it("file first: spooled; after a 503 the next provider gets exactly the same bytes", async () => {
      mock.setDefault({ status: 503 })
      const file = audio(700_000, 9)
      // Raw UTF-8 in a field, the boundary quoted: every byte is the client's.
      const body = multipart([
        { name: "file", value: file, filename: "first.flac", type: "audio/flac" },
        { name: "prompt", value: Buffer.from("ünïcödé prompt", "utf8") },
        { name: "model", value: "transcribe" },
        { name: "timestamp_granularities[]", value: "word" },
      ])
      const answer = await postRaw(
        gateway.url,
        gateway.masterKey,
        "/v1/audio/transcriptions",
        body,
        `multipart/form-data; boundary="${BOUNDARY}"`,
      )
      expect(answer.status).toBe(200)
      expect(answer.headers["x-apiproxy-provider"]).toBe("oai2")
      const expected = withModel(body, "transcribe", "gpt-4o-transcribe")
      expect(mock.received[0]!.raw!.equals(expected)).toBe(true)
      expect(backup.received[0]!.raw!.equals(expected)).toBe(true)
      expect(formOf(backup).files[0]!.bytes.equals(file)).toBe(true)
      await waitUntil("the spool file is deleted", () => spoolFiles(tmp).length === 0)
    })

    it("a chunked body past the limit: 413 mid-upload, the client still sending sees it; streamed, the upstream call is aborted", async () => {
      const upload = startUpload(gateway.url, gateway.masterKey, "/v1/audio/transcriptions")
      await upload.send(multipart([{ name: "model", value: "transcribe" }]).subarray(0, -`--${BOUNDARY}--\r\n`.length))
      await upload.send(
        Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.wav"\r\n\r\n`),
      )
      let answered = false
      const pump = (async () => {
        for (let sent = 0; sent < LIMIT * 3 && !answered && !upload.request.destroyed; sent += 64 * 1024)
          await upload.send(audio(64 * 1024))
      })()
      const answer = await upload.answer
      answered = true
      expect(answer.status).toBe(413)
      expect(JSON.parse(answer.body).error).toMatchObject({
        type: "invalid_request_error",
        code: "request_too_large",
        message: `Request body exceeds the limit of ${LIMIT} bytes`,
      })
      expect(answer.headers.connection).toBe("close")
      upload.request.destroy()
      await pump
      await mock.waitFor((m) => m.received[0]?.aborted === true)
    })
  })

  describe("bad uploads are a 400 in OpenAI's shape; the gateway keeps serving", () => {
    const file = { name: "file", value: audio(1_000), filename: "a.wav" }
    it.each<[string, Buffer, string | undefined, string | null]>([
      ["no model", multipart([file]), undefined, "model"],
      ["an empty model", multipart([file, { name: "model", value: "" }]), undefined, "model"],
      ["a model with a space", multipart([{ name: "model", value: "bad model" }, file]), undefined, "model"],
      ["a model of 300 characters", multipart([file, { name: "model", value: "m".repeat(300) }]), undefined, "model"],
      [
        "a model with a CRLF",
        multipart([{ name: "model", value: "whisper-1\r\nx-evil: 1" }, file]),
        undefined,
        "model",
      ],
      [
        "two models",
        multipart([{ name: "model", value: "whisper" }, file, { name: "model", value: "transcribe" }]),
        undefined,
        "model",
      ],
      [
        "a model sent as a file",
        multipart([{ name: "model", value: "whisper", filename: "m.txt" }, file]),
        undefined,
        "model",
      ],
      ["no file", multipart([{ name: "model", value: "whisper" }]), undefined, "file"],
      ["JSON instead of multipart", Buffer.from('{"model":"whisper"}'), "application/json", null],
      ["no boundary", multipart([file]), "multipart/form-data", null],
      [
        "a boundary of 71 characters",
        multipart([file], "b".repeat(71)),
        `multipart/form-data; boundary=${"b".repeat(71)}`,
        null,
      ],
      ["a boundary with a quote", multipart([file]), 'multipart/form-data; boundary="a"b"', null],
      ["no closing boundary", multipart([{ name: "model", value: "whisper" }, file]).subarray(0, -10), undefined, null],
      [
        "a part without Content-Disposition",
        Buffer.from(`--${BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--${BOUNDARY}--\r\n`),
        undefined,
        null,
      ],
      [
        "a folded header line",
        Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data;\r\n name="model"\r\n\r\nwhisper\r\n--${BOUNDARY}--\r\n`,
        ),
        undefined,
        null,
      ],
      [
        "a name* parameter",
        Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name*=UTF-8''model\r\n\r\nwhisper\r\n--${BOUNDARY}--\r\n`,
        ),
        undefined,
        null,
      ],
      [
        "a preamble",
        Buffer.concat([Buffer.from("hello\r\n"), multipart([{ name: "model", value: "whisper" }, file])]),
        undefined,
        null,
      ],
      [
        "an epilogue with another model",
        Buffer.concat([
          multipart([{ name: "model", value: "whisper" }, file]),
          multipart([{ name: "model", value: "transcribe" }]),
        ]),
        undefined,
        null,
      ],
      [
        "a value that begins with the boundary (a part readers split differently)",
        multipart([
          {
            name: "language",
            value: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\ntranscribe`,
          },
          { name: "model", value: "whisper" },
          file,
        ]),
        undefined,
        null,
      ],
      [
        "a bare LF in a header",
        Buffer.from(
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="x"\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n--${BOUNDARY}--\r\n`,
        ),
        undefined,
        null,
      ],
    ])("%s", async (_what, body, contentType, param) => {
      const answer = await postRaw(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", body, contentType)
      expect(answer.status).toBe(400)
      const error = JSON.parse(answer.body).error
      expect(error).toMatchObject({ type: "invalid_request_error", param })
      // Nothing the client sent is echoed raw: no CR or LF, nothing long.
      expect(error.message).not.toMatch(/[\r\n]/)
      expect(error.message.length).toBeLessThan(200)
      expect(mock.received).toHaveLength(0)
      const next = await openai.audio.transcriptions.create({
        file: await toFile(audio(100), "ok.wav"),
        model: "whisper",
      })
      expect(next.text).toContain("ok.wav")
      await waitUntil("no spool file is left", () => spoolFiles(tmp).length === 0)
    })
  })

  it("an upload that cannot be kept (its temporary directory is gone) is a 503 to retry, nothing reaches an upstream", async () => {
    process.env.TMPDIR = path.join(tmp, "no-such-directory")
    try {
      const answer = await postRaw(
        gateway.url,
        gateway.masterKey,
        "/v1/audio/transcriptions",
        multipart([
          { name: "file", value: audio(200_000), filename: "a.wav" },
          { name: "model", value: "whisper" },
        ]),
      )
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body).error).toMatchObject({
        code: "upload_unavailable",
        message: "The upload could not be kept for sending; retry later",
      })
      expect(answer.headers["retry-after"]).toBe("1")
    } finally {
      process.env.TMPDIR = tmp
    }
    expect(mock.received).toHaveLength(0)
  })

  describe("the client leaves mid-upload", () => {
    it("streamed: the upstream call is aborted", async () => {
      const body = multipart([
        { name: "model", value: "transcribe" },
        { name: "file", value: audio(1_000_000), filename: "gone.wav" },
      ])
      const upload = startUpload(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", { declare: body.length })
      await upload.send(body.subarray(0, 300_000))
      await waitUntil("the upstream call begins", () => mock.received.length === 1)
      upload.request.destroy()
      await mock.waitFor((m) => m.received[0]!.aborted === true)
      expect(spoolFiles(tmp)).toEqual([])
    })

    it("spooled: the temporary file is deleted, nothing reaches an upstream", async () => {
      const body = multipart([
        { name: "file", value: audio(2_000_000), filename: "gone.wav" },
        { name: "model", value: "transcribe" },
      ])
      const upload = startUpload(gateway.url, gateway.masterKey, "/v1/audio/transcriptions", { declare: body.length })
      await upload.send(body.subarray(0, 1_000_000))
      await waitUntil("the upload is spooled", () => spoolFiles(tmp).length === 1)
      upload.request.destroy()
      await waitUntil("the spool file is deleted", () => spoolFiles(tmp).length === 0)
      expect(mock.received).toHaveLength(0)
      expect(backup.received).toHaveLength(0)
    })
  })

  describe("who may and can serve it", () => {
    it("a model only Gemini- or Anthropic-protocol providers serve is a 404 naming the endpoint", async () => {
      for (const model of ["gemini-2.5-flash", "claude-haiku-4-5"]) {
        const answer = await postRaw(
          gateway.url,
          gateway.masterKey,
          "/v1/audio/translations",
          multipart([
            { name: "model", value: model },
            { name: "file", value: audio(10), filename: "a.wav" },
          ]),
        )
        expect(answer.status).toBe(404)
        const error = JSON.parse(answer.body).error
        expect(error).toMatchObject({ code: "model_not_supported", param: "model", type: "invalid_request_error" })
        expect(error.message).toContain(`'${model}'`)
        expect(error.message).toContain("/v1/audio/translations")
      }
      const unknown = await openai.audio.transcriptions
        .create({ file: await toFile(audio(10), "a.wav"), model: "no-such-model" })
        .catch((e: unknown) => e)
      expect((unknown as InstanceType<typeof OpenAI.APIError>).status).toBe(404)
      expect(mock.received).toHaveLength(0)
    })

    it("no key, a wrong key: 401 (seen by a client still sending its file); a key limited to other providers: 403", async () => {
      const body = multipart([
        { name: "file", value: audio(500_000), filename: "a.wav" },
        { name: "model", value: "transcribe" },
      ])
      expect((await postRaw(gateway.url, undefined, "/v1/audio/transcriptions", body)).status).toBe(401)
      expect((await postRaw(gateway.url, "apx-not-a-key", "/v1/audio/transcriptions", body)).status).toBe(401)
      const limited = await restrictedKey(gateway.url, gateway.masterKey, "audio-limited", ["gem"])
      const answer = await postRaw(gateway.url, limited, "/v1/audio/transcriptions", body)
      expect(answer.status).toBe(403)
      expect(JSON.parse(answer.body).error.code).toBe("provider_not_allowed")
      expect(mock.received).toHaveLength(0)
      await waitUntil("no spool file is left", () => spoolFiles(tmp).length === 0)
    })

    it("another method is a 405 naming POST", async () => {
      const response = await fetch(`${gateway.url}/v1/audio/translations`, {
        headers: { authorization: `Bearer ${gateway.masterKey}` },
      })
      expect(response.status).toBe(405)
      expect(response.headers.get("allow")).toBe("POST")
    })

    it("usage is recorded where the provider reports it", async () => {
      await openai.audio.transcriptions.create({
        file: await toFile(audio(1_000), "u.wav"),
        model: "oai/gpt-4o-transcribe",
      })
      const deadline = Date.now() + 4_000
      for (;;) {
        const response = await fetch(`${gateway.url}/usage`, {
          headers: { authorization: `Bearer ${gateway.masterKey}` },
        })
        const { rows } = (await response.json()) as {
          rows: Array<{ model: string; input_tokens: number; output_tokens: number }>
        }
        const row = rows.find((r) => r.model === "gpt-4o-transcribe")
        if ((row?.input_tokens ?? 0) >= 14 && (row?.output_tokens ?? 0) >= 9) break
        if (Date.now() > deadline) throw new Error(`usage not recorded: ${JSON.stringify(rows)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    })
  })
})
