import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import {
  boundaryOf,
  makeMultipartScanner,
  multipartContentType,
  type PartHead,
  parsePartHeaders,
} from "../../../src/http/MultipartScanner.js"
import { field, parseForm } from "../../../src/mock/OpenAIAudioUpload.js"

interface Part {
  readonly name: string
  readonly filename?: string | undefined
  readonly value: Buffer
}

const build = (boundary: string, parts: ReadonlyArray<Part>, preamble = "", epilogue = ""): Buffer =>
  Buffer.concat([
    Buffer.from(preamble, "latin1"),
    ...parts.flatMap((part, i) => [
      Buffer.from(
        `${i === 0 && preamble === "" ? "" : "\r\n"}--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"` +
          (part.filename !== undefined
            ? `; filename="${part.filename}"\r\nContent-Type: application/octet-stream`
            : "") +
          "\r\n\r\n",
        "latin1",
      ),
      part.value,
    ]),
    Buffer.from(`\r\n--${boundary}--`, "latin1"),
    Buffer.from(epilogue, "latin1"),
  ])

interface Seen {
  readonly parts: Array<{ readonly head: PartHead; readonly end: number; readonly value: string | undefined }>
  readonly problem: string | undefined
  readonly closed: boolean
}

/** Scans `body` cut at `cuts` (offsets), collecting `collect`. */
const scan = (
  boundary: string,
  body: Buffer,
  cuts: ReadonlyArray<number>,
  collect: ReadonlySet<string> = new Set(["model"]),
  limit = 257,
): Seen => {
  const parts: Seen["parts"] = []
  const scanner = makeMultipartScanner(boundary, collect, limit, {
    onPart: () => {},
    onPartEnd: (head, end, value) => parts.push({ head, end, value }),
  })
  let problem: string | undefined
  let at = 0
  for (const cut of [...cuts.filter((c) => c > 0 && c < body.length)].sort((a, b) => a - b).concat(body.length)) {
    problem ??= scanner.push(body.subarray(at, cut))
    at = cut
  }
  return { parts, problem, closed: scanner.closed() }
}

/** Bytes that look like parts of a delimiter: the hardest values for a scanner. */
const trickyValue = (boundary: string) =>
  fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        fc
          .constantFrom(
            "\r",
            "\n",
            "\r\n",
            "-",
            "--",
            "\r\n-",
            "\r\n--",
            `\r\n--${boundary.slice(0, -1)}`,
            `--${boundary}`,
            `\r--${boundary}`,
            `\n--${boundary}`,
          )
          .map((s) => Buffer.from(s, "latin1")),
      ),
      { maxLength: 12 },
    )
    .map((pieces) => Buffer.concat(pieces))
    // A value may not contain the delimiter (it would end the part, for every reader), nor begin
    // with its dashes (the CRLF before it would make one), nor end in a CR (likewise with the next).
    .filter(
      (value) =>
        !Buffer.concat([Buffer.from("\r\n"), value, Buffer.from("\n--")]).includes(
          Buffer.from(`\r\n--${boundary}`, "latin1"),
        ) &&
        !value.toString("latin1").startsWith(`--${boundary}`) &&
        !value.toString("latin1").endsWith("\r"),
    )

const BOUNDARY = "----formdata-undici-0123456789"

const partsArbitrary = (boundary: string) =>
  fc.array(
    fc.record({
      name: fc.constantFrom("model", "file", "language", "prompt", "stream", "timestamp_granularities[]"),
      filename: fc.option(fc.constantFrom("a.wav", "speech.mp3", "ü.flac"), { nil: undefined }),
      value: trickyValue(boundary),
    }),
    { minLength: 1, maxLength: 6 },
  )

describe("MultipartScanner", () => {
  it("finds every part's value bytes exactly, however the body is cut into chunks; busboy reads the same values", async () => {
    await fc.assert(
      fc.asyncProperty(
        partsArbitrary(BOUNDARY),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.constantFrom("", "\r\n"),
        async (parts, rawCuts, epilogue) => {
          const body = build(BOUNDARY, parts, "", epilogue)
          const cuts = rawCuts.map((c) => c % (body.length + 1))
          const seen = scan(BOUNDARY, body, cuts)
          expect(seen.problem).toBeUndefined()
          expect(seen.closed).toBe(true)
          expect(seen.parts.map((p) => p.head.name)).toEqual(parts.map((p) => p.name))
          seen.parts.forEach((p, i) => {
            expect(body.subarray(p.head.valueStart, p.end).equals(parts[i]!.value)).toBe(true)
            expect(p.head.filename).toBe(parts[i]!.filename)
            expect(p.head.index).toBe(i)
            const collected =
              p.head.name === "model" && parts[i]!.filename === undefined && parts[i]!.value.length <= 257
            expect(p.value).toBe(collected ? parts[i]!.value.toString("latin1") : undefined)
          })
          // An independent reader (busboy) sees the same fields.
          const form = await parseForm(multipartContentType(BOUNDARY), body)
          if (typeof form === "string") throw new Error(form)
          const textParts = parts.filter((p) => p.filename === undefined)
          expect(form.fields.map(([name]) => name)).toEqual(textParts.map((p) => p.name))
          expect(form.files.map((f) => f.name)).toEqual(
            parts.filter((p) => p.filename !== undefined).map((p) => p.name),
          )
          // (busboy decodes values as UTF-8; a model id is ASCII or refused.)
          const model = textParts.find((p) => p.name === "model")?.value.toString("latin1")
          if (model !== undefined && /^[\x00-\x7f]*$/.test(model)) expect(field(form, "model")).toBe(model)
        },
      ),
      { numRuns: 400 },
    )
  })

  it("whatever it accepts, busboy reads as the same parts with the same model (no reader differential)", async () => {
    const B = "xyz"
    const fragment = fc.constantFrom(
      `--${B}`,
      `\r\n--${B}`,
      `--${B}--`,
      "\r\n",
      "\r",
      "\n",
      "--",
      "-",
      ":",
      ";",
      '"',
      "\\",
      " ",
      "\t",
      "x",
      "model",
      "file",
      "Content-Disposition: form-data; ",
      'name="model"',
      "name=model",
      'name="file"; filename="a.wav"',
      'name="x"',
      "Content-Type: text/plain",
      "content-disposition: form-data; name=model",
      "name*=utf-8''model",
      "whisper-1",
      "gpt-4o",
      "\r\n\r\n",
    )
    const valid = (parts: ReadonlyArray<Part>) => build(B, parts).toString("latin1")
    const body = fc.oneof(
      fc.array(fragment, { maxLength: 40 }).map((f) => f.join("")),
      // A valid body with hostile fragments spliced in somewhere.
      fc
        .tuple(
          fc.array(fragment, { minLength: 1, maxLength: 6 }),
          fc.nat(),
          fc.constantFrom(
            valid([
              { name: "model", value: Buffer.from("whisper-1") },
              { name: "file", filename: "a.wav", value: Buffer.from("RIFF") },
            ]),
          ),
        )
        .map(([f, at, text]) => text.slice(0, at % text.length) + f.join("") + text.slice(at % text.length)),
    )
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(body, fc.array(fc.nat(), { maxLength: 6 }), async (text, rawCuts) => {
        const bytes = Buffer.from(text, "latin1")
        const seen = scan(
          B,
          bytes,
          rawCuts.map((c) => c % (bytes.length + 1)),
        )
        if (seen.problem !== undefined || !seen.closed) return
        accepted++
        const form = await parseForm(multipartContentType(B), bytes)
        if (typeof form === "string") throw new Error(`busboy refused what the scanner accepted: ${form}`)
        const names = [...form.fields.map(([name]) => name), ...form.files.map((f) => f.name)].sort()
        expect(names).toEqual(seen.parts.map((p) => p.head.name).sort())
        const model = seen.parts.find((p) => p.head.name === "model")
        if (model?.value !== undefined && model.head.filename === undefined)
          expect(field(form, "model")).toBe(model.value)
      }),
      { numRuns: 3_000 },
    )
    // The property is not vacuous: some of those bodies are acceptable.
    expect(accepted).toBeGreaterThan(50)
  })

  it("a delimiter split at any byte is still found", () => {
    const body = build(BOUNDARY, [
      { name: "model", value: Buffer.from("whisper-1") },
      { name: "file", filename: "a.wav", value: Buffer.from("RIFF....") },
    ])
    for (let cut = 1; cut < body.length; cut++) {
      for (const second of [cut + 1, cut + 3, body.length]) {
        const seen = scan(BOUNDARY, body, [cut, second])
        expect(seen.problem).toBeUndefined()
        expect(seen.parts.map((p) => p.value ?? p.head.name)).toEqual(["whisper-1", "file"])
      }
    }
  })

  it("one byte at a time", () => {
    const body = build(BOUNDARY, [
      { name: "model", value: Buffer.from("gpt-4o-transcribe") },
      { name: "file", filename: "x", value: Buffer.from("\r\n--\r\n-") },
    ])
    const seen = scan(
      BOUNDARY,
      body,
      Array.from({ length: body.length }, (_, i) => i),
    )
    expect(seen.parts.map((p) => body.subarray(p.head.valueStart, p.end).toString("latin1"))).toEqual([
      "gpt-4o-transcribe",
      "\r\n--\r\n-",
    ])
  })

  it("a value over the collection limit is not collected", () => {
    const body = build(BOUNDARY, [{ name: "model", value: Buffer.from("m".repeat(300)) }])
    expect(scan(BOUNDARY, body, [], new Set(["model"]), 257).parts[0]!.value).toBeUndefined()
  })

  it.each<[string, string]>([
    ["no closing delimiter yet", `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx`],
  ])("%s: no problem, not closed", (_what, text) => {
    const seen = scan(BOUNDARY, Buffer.from(text, "latin1"), [])
    expect(seen.problem).toBeUndefined()
    expect(seen.closed).toBe(false)
  })

  it.each<[string, string, RegExp]>([
    // Where readers differ: busboy (like every RFC 2046 reader) sees a delimiter in each of these.
    [
      "a value that begins with the boundary (no body: the header CRLF starts a delimiter)",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="language"\r\n\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nx\r\n--${BOUNDARY}--`,
      /ends inside its headers/,
    ],
    [
      "a delimiter among header lines",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nx\r\n--${BOUNDARY}--`,
      /ends inside its headers/,
    ],
    [
      "two delimiters in a row (an empty part)",
      `--${BOUNDARY}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nx\r\n--${BOUNDARY}--`,
      /ends inside its headers/,
    ],
    [
      "a preamble",
      `hello\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`,
      /before its first boundary/,
    ],
    [
      "an epilogue",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--\r\n--${BOUNDARY}\r\n`,
      /after its closing boundary/,
    ],
    ["a delimiter line not ending in CRLF", `--${BOUNDARY}X\r\n\r\n`, /does not end in CRLF/],
    [
      "transport padding after the delimiter",
      `--${BOUNDARY}  \r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--${BOUNDARY}--`,
      /does not end in CRLF/,
    ],
    [
      "headers that never end",
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n${"X-Pad: y\r\n".repeat(1000)}`,
      /more than 8192 bytes/,
    ],
    ["an empty header block", `--${BOUNDARY}\r\n\r\nx\r\n--${BOUNDARY}--`, /no Content-Disposition/],
  ])("%s is refused", (_what, text, message) => {
    expect(scan(BOUNDARY, Buffer.from(text, "latin1"), []).problem).toMatch(message)
  })

  it("more than 1000 parts is refused", () => {
    const parts = Array.from({ length: 1_001 }, () => ({ name: "x", value: Buffer.from("1") }))
    expect(scan(BOUNDARY, build(BOUNDARY, parts), []).problem).toMatch(/more than 1000 parts/)
  })
})

describe("parsePartHeaders", () => {
  it.each<[string, { name: string; filename: string | undefined } | RegExp]>([
    ['Content-Disposition: form-data; name="model"\r\n', { name: "model", filename: undefined }],
    ["content-disposition: FORM-DATA; NAME=model\r\n", { name: "model", filename: undefined }],
    [
      'Content-Disposition: form-data; name="file"; filename="a b;c.wav"\r\nContent-Type: audio/wav\r\n',
      { name: "file", filename: "a b;c.wav" },
    ],
    ["Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%C3%BC.wav\r\n", { name: "file", filename: "" }],
    [
      'Content-Disposition: form-data; name="file"; filename="\xc3\xbc.wav"\r\n',
      { name: "file", filename: "\xc3\xbc.wav" },
    ],
    ['Content-Disposition: form-data; name="a"; name="model"\r\n', /malformed Content-Disposition/],
    ["Content-Disposition: form-data; name*=UTF-8''model\r\n", /name\*/],
    ['Content-Disposition: form-data; name="mo\\del"\r\n', /backslash/],
    ['Content-Disposition: attachment; name="model"\r\n', /not form-data/],
    ["Content-Disposition: form-data\r\n", /no name/],
    ['Content-Disposition: form-data; name=""\r\n', /no name/],
    ['Content-Disposition: form-data; name="model\r\n', /malformed/],
    [
      'Content-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="model"\r\n',
      /two Content-Disposition/,
    ],
    ['Content-Disposition: form-data;\r\n name="model"\r\n', /malformed header line/],
    [
      'Content-Disposition: form-data; name="x"\nContent-Disposition: form-data; name="model"\r\n',
      /malformed header line/,
    ],
    ['Content-Disposition: form-data; name="x"\x00\r\n', /malformed header line/],
    ["Content-Type: text/plain\r\n", /no Content-Disposition/],
    ["Bad Header: x\r\n", /malformed header line/],
  ])("%j", (block, expected) => {
    const result = parsePartHeaders(block)
    if (expected instanceof RegExp) expect(result).toMatch(expected)
    else expect(result).toEqual(expected)
  })
})

describe("boundaryOf", () => {
  it.each<[string | undefined, string | RegExp]>([
    ["multipart/form-data; boundary=abc", "abc"],
    ['Multipart/Form-Data; charset=utf-8; BOUNDARY="a b:c"', "a b:c"],
    ["multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"],
    [undefined, /no Content-Type/],
    ["application/json", /must be multipart\/form-data/],
    ["multipart/mixed; boundary=abc", /must be multipart\/form-data/],
    ["multipart/form-data", /no boundary/],
    ["multipart/form-data; boundary=a; boundary=b", /twice/],
    ["multipart/form-data; boundary=", /not a valid/],
    [`multipart/form-data; boundary=${"x".repeat(71)}`, /not a valid/],
    ['multipart/form-data; boundary="ends in space "', /not a valid/],
    ["multipart/form-data; boundary=a\rb", /not a valid/],
    ["multipart/form-data; boundary=\xfc", /not a valid/],
  ])("%j", (contentType, expected) => {
    const result = boundaryOf(contentType)
    if (typeof expected === "string") expect(result).toEqual({ boundary: expected })
    else expect("problem" in result && result.problem).toMatch(expected)
  })

  it("the forwarded type quotes a boundary only when it must, and busboy reads it back", async () => {
    expect(multipartContentType("abc-123")).toBe("multipart/form-data; boundary=abc-123")
    expect(multipartContentType("a b:c")).toBe('multipart/form-data; boundary="a b:c"')
    for (const boundary of ["abc-123", "a b:c", "x=y?z"]) {
      const form = await parseForm(
        multipartContentType(boundary),
        build(boundary, [{ name: "model", value: Buffer.from("m") }]),
      )
      expect(form).toEqual({ fields: [["model", "m"]], files: [] })
    }
  })
})

describe("a boundary with a colon: a delimiter that reads as a header line", () => {
  it("is refused, not taken for a header", () => {
    const boundary = "a:b"
    const text = `--${boundary}\r\nContent-Disposition: form-data; name="x"\r\n--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n--${boundary}--`
    expect(scan(boundary, Buffer.from(text, "latin1"), []).problem).toMatch(/ends inside its headers/)
  })
})
