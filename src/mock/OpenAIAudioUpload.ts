/**
 * OpenAI's multipart audio endpoints as the mock answers them: `POST /v1/audio/transcriptions` and
 * `/v1/audio/translations`. The body is parsed with busboy — a reader independent of the gateway's
 * own — and a body busboy cannot read is the mock's 400, so a test sees any damage the gateway did
 * to what it forwarded. The transcript names the file's size and SHA-256, so a test can tell the
 * upstream got the file whole; `response_format` (json, text, srt, vtt, verbose_json) and
 * `stream=true` (transcript events) answer as OpenAI does.
 */

import { createHash } from "node:crypto"
import { Busboy, type BusboyInstance } from "@fastify/busboy"
import { dataFrame, type Exchange, sendJson, sendSse } from "./Exchange.js"
import { openAIErrorBody } from "./OpenAIErrors.js"

export interface MockFormFile {
  readonly name: string
  readonly filename: string
  readonly contentType: string
  readonly bytes: Buffer
}

/** A multipart body as busboy reads it; fields in order (a repeated name appears twice). */
export interface MockForm {
  readonly fields: ReadonlyArray<readonly [string, string]>
  readonly files: ReadonlyArray<MockFormFile>
}

/** The first value of field `name`. */
export const field = (form: MockForm, name: string): string | undefined => form.fields.find(([n]) => n === name)?.[1]

/** Reads a whole multipart body with busboy; a string says why it could not. */
export const parseForm = (contentType: string, raw: Buffer): Promise<MockForm | string> =>
  new Promise((resolve) => {
    const fields: Array<readonly [string, string]> = []
    const files: Array<MockFormFile> = []
    let busboy: BusboyInstance
    try {
      busboy = Busboy({ headers: { "content-type": contentType } })
    } catch (error) {
      return resolve(`cannot read the body: ${String(error)}`)
    }
    busboy.on("field", (name, value) => fields.push([name, value]))
    busboy.on("file", (name, stream, filename, _encoding, mime) => {
      const parts: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => parts.push(chunk))
      stream.on("end", () => files.push({ name, filename, contentType: mime, bytes: Buffer.concat(parts) }))
    })
    busboy.on("error", (error: unknown) => resolve(`malformed multipart body: ${String(error)}`))
    busboy.on("finish", () => resolve({ fields, files }))
    busboy.end(raw)
  })

/** What the mock says it heard: the file's name, size and hash, so a test can check the bytes. */
export const mockTranscript = (file: Pick<MockFormFile, "filename" | "bytes">): string =>
  `Transcript of ${file.filename}: ${file.bytes.length} bytes, sha256 ${createHash("sha256").update(file.bytes).digest("hex").slice(0, 16)}`

const tokenUsage = {
  type: "tokens",
  input_tokens: 14,
  input_token_details: { text_tokens: 0, audio_tokens: 14 },
  output_tokens: 9,
  total_tokens: 23,
}

const clock = (seconds: number, separator: string) => `00:00:0${seconds}${separator}000`

/** `POST /v1/audio/transcriptions` or `/v1/audio/translations`, its form already read. */
export const handleAudioUpload = (ex: Exchange, kind: "transcriptions" | "translations", form: MockForm): void => {
  const model = field(form, "model")
  const file = form.files.find((f) => f.name === "file")
  const models = form.fields.filter(([n]) => n === "model")
  if (model === undefined || file === undefined || models.length !== 1) {
    const message =
      models.length > 1
        ? "model given twice"
        : model === undefined
          ? "you must provide a model parameter"
          : "you must provide a file"
    return sendJson(ex, 400, openAIErrorBody(400, message))
  }
  const text = mockTranscript(file)
  const format = field(form, "response_format") ?? "json"
  if (kind === "transcriptions" && field(form, "stream") === "true") {
    const words = text.split(" ")
    return sendSse(ex, {
      frames: [
        ...words.map((word, i) => dataFrame({ type: "transcript.text.delta", delta: i === 0 ? word : ` ${word}` })),
        dataFrame({ type: "transcript.text.done", text, usage: tokenUsage }),
      ],
      terminalCount: 1,
      malformedFrame: "data: {not json\n\n",
      errorFrame: () => dataFrame(openAIErrorBody(500)),
    })
  }
  const plain = (type: string, body: string) => {
    ex.res.writeHead(200, {
      "content-type": `${type}; charset=utf-8`,
      "content-length": Buffer.byteLength(body),
      ...ex.behaviour.headers,
    })
    ex.res.end(body)
  }
  switch (format) {
    case "text":
      return plain("text/plain", `${text}\n`)
    case "srt":
      return plain("text/plain", `1\n${clock(0, ",")} --> ${clock(3, ",")}\n${text}\n\n`)
    case "vtt":
      return plain("text/plain", `WEBVTT\n\n${clock(0, ".")} --> ${clock(3, ".")}\n${text}\n\n`)
    case "verbose_json":
      return sendJson(ex, 200, {
        task: kind === "translations" ? "translate" : "transcribe",
        language: "english",
        duration: 3,
        text,
        segments: [
          {
            id: 0,
            seek: 0,
            start: 0,
            end: 3,
            text,
            tokens: [50364, 440],
            temperature: 0,
            avg_logprob: -0.2,
            compression_ratio: 1.2,
            no_speech_prob: 0.01,
          },
        ],
        ...(kind === "transcriptions" ? { usage: { type: "duration", seconds: 3 } } : {}),
      })
    default:
      // whisper-1 reports seconds of audio; the gpt-4o transcribers report tokens.
      return sendJson(
        ex,
        200,
        kind === "translations"
          ? { text }
          : { text, usage: model.startsWith("whisper") ? { type: "duration", seconds: 3 } : tokenUsage },
      )
  }
}
