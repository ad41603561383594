/**
 * A strict, streaming reader of `multipart/form-data` syntax (RFC 7578 over RFC 2046) that knows
 * where every part lies in the body: the byte offsets the upload edge needs to replace the value
 * of the `model` part in place and forward everything else byte for byte (MultipartUpload).
 *
 * Why not busboy's parser for this: it reports fields and files but no offsets, and two parsers in
 * the gateway (one to route, one to find bytes) could disagree on a hostile body — the upstream
 * would then see a model the gateway did not route by. This one is the only reader of the
 * structure, and it is strict where readers differ: each part has exactly one
 * `Content-Disposition: form-data` header with a plain `name`, header lines are `Name: value` with
 * no folding and no bare CR or LF, the delimiter line ends in CRLF at once. Anything else is the
 * client's 400. (busboy reads what it forwards in the tests: an independent parser of the result.)
 */

/** The boundary of a `multipart/form-data` content type, or why there is none usable. */
export const boundaryOf = (
  contentType: string | undefined,
): { readonly boundary: string } | { readonly problem: string } => {
  if (contentType === undefined) return { problem: "the request has no Content-Type; expected multipart/form-data" }
  const [type, ...params] = contentType.split(";")
  if (type!.trim().toLowerCase() !== "multipart/form-data")
    return { problem: "the request body must be multipart/form-data" }
  let boundary: string | undefined
  for (const param of params) {
    const eq = param.indexOf("=")
    if (eq < 0) continue
    if (param.slice(0, eq).trim().toLowerCase() !== "boundary") continue
    if (boundary !== undefined) return { problem: "the multipart Content-Type names its boundary twice" }
    const raw = param.slice(eq + 1).trim()
    boundary = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
  }
  if (boundary === undefined) return { problem: "the multipart Content-Type has no boundary" }
  // RFC 2046: 1 to 70 of these characters, not ending in a space.
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary) || boundary.endsWith(" ")) {
    return { problem: "the multipart boundary is not a valid RFC 2046 boundary" }
  }
  return { boundary }
}

/** The content type forwarded upstream: the client's boundary, quoted when it must be. */
export const multipartContentType = (boundary: string): string =>
  /^[0-9A-Za-z'+_\-.]+$/.test(boundary)
    ? `multipart/form-data; boundary=${boundary}`
    : `multipart/form-data; boundary="${boundary}"`

/** One part as its headers describe it. */
export interface PartHead {
  /** 0 for the first part. */
  readonly index: number
  readonly name: string
  /** Set for a file part. */
  readonly filename: string | undefined
  /** Offset in the body of the part's first value byte. */
  readonly valueStart: number
}

export interface ScanEvents {
  /** A part's headers were read. */
  readonly onPart: (part: PartHead) => void
  /**
   * A part ended at `end` (the offset of the delimiter after it). `value` is its value when the
   * part's name was one to collect and it is at most the collection limit long.
   */
  readonly onPartEnd: (part: PartHead, end: number, value: string | undefined) => void
}

export interface MultipartScanner {
  /** Reads the next bytes of the body; a string says why the body is not acceptable (then stop). */
  readonly push: (chunk: Buffer) => string | undefined
  /** Whether the closing delimiter was read (the rest is epilogue). */
  readonly closed: () => boolean
}

/** Most bytes of one part's header block. */
const MAX_HEADER_BYTES = 8 * 1024
/** Most parts in one body (an OpenAI transcription has about ten fields). */
export const MAX_PARTS = 1_000
const CR = 0x0d
const DASH = 0x2d
const CRLF_CRLF = Buffer.from("\r\n\r\n", "latin1")

type State = "preamble" | "head" | "body" | "epilogue"

const CRLF = Buffer.from("\r\n", "latin1")

/**
 * A scanner for one body with `boundary`. The values of parts named in `collect` are kept, each up
 * to `collectLimit` bytes (a longer one is reported as `undefined`).
 *
 * The delimiter (CRLF "--" boundary) is looked for everywhere, as every RFC 2046 reader does,
 * headers included — also where its CRLF is the one that ends a header block. Where that would
 * make a part that readers take differently (a delimiter inside a part's headers, a part with
 * headers and no body), the body is refused; so is anything before the first boundary (a
 * preamble) or after the last one but a CRLF (an epilogue): readers that do not skip them the
 * same way could see other parts there.
 */
export const makeMultipartScanner = (
  boundary: string,
  collect: ReadonlySet<string>,
  collectLimit: number,
  events: ScanEvents,
): MultipartScanner => {
  const delimiter = Buffer.from(`\r\n--${boundary}`, "latin1")
  const n = delimiter.length
  let state: State = "preamble"
  let problem: string | undefined
  /** Offset of the next byte pushed. */
  let offset = 0
  // The body starts as if after a CRLF, so that "--boundary" at offset 0 is the first delimiter.
  let partial = 2
  /** Bytes of a partial delimiter match that may yet turn out to be data (a collected value needs them). */
  let held: Buffer = CRLF
  /** The held bytes are not data: the virtual CRLF at the start, or the one ending a header block. */
  let heldVirtual = true
  let head: Buffer = Buffer.alloc(0)
  let epilogue = 0
  let part: PartHead | undefined
  let parts = 0
  let value: Array<Buffer> | undefined
  let valueBytes = 0

  const keep = (bytes: Buffer) => {
    if (value === undefined || bytes.length === 0) return
    valueBytes += bytes.length
    if (valueBytes > collectLimit) value = undefined
    else value.push(Buffer.from(bytes))
  }

  /** A delimiter starts at `at`: the part read so far (or the preamble) ends there. */
  const delimiterAt = (at: number) => {
    if (state === "preamble" && at !== -2) problem = "the multipart body has bytes before its first boundary"
    if (state === "body") {
      const ended = part!
      // The CRLF ending its header block began the delimiter: a part with headers and no body.
      if (at < ended.valueStart) problem = "a multipart part ends inside its headers"
      else events.onPartEnd(ended, at, value === undefined ? undefined : Buffer.concat(value).toString("latin1"))
      part = undefined
      value = undefined
    }
    state = "head"
    head = Buffer.alloc(0)
  }

  /** Looks for the delimiter in `chunk[from..]` (body or preamble); returns where reading goes on, or -1 at the chunk's end. */
  const scanData = (chunk: Buffer, from: number): number => {
    const at = from
    if (partial > 0) {
      const want = n - partial
      const take = Math.min(want, chunk.length - at)
      if (chunk.compare(delimiter, partial, partial + take, at, at + take) === 0) {
        if (take < want) {
          held = Buffer.concat([held, chunk.subarray(at, at + take)])
          partial += take
          return -1
        }
        const start = offset + at - partial
        partial = 0
        held = Buffer.alloc(0)
        delimiterAt(start)
        return at + take
      }
      // The partial match was data after all ("\r" appears in the delimiter only at its start,
      // so no other match can begin inside it).
      keep(heldVirtual ? held.subarray(2) : held)
      partial = 0
      held = Buffer.alloc(0)
    }
    heldVirtual = false
    const found = chunk.indexOf(delimiter, at)
    if (found >= 0) {
      keep(chunk.subarray(at, found))
      delimiterAt(offset + found)
      return found + n
    }
    // A delimiter may begin in the last n-1 bytes and end in the next chunk.
    const tailFrom = Math.max(at, chunk.length - (n - 1))
    let cr = chunk.lastIndexOf(CR, chunk.length - 1)
    while (cr >= tailFrom) {
      const len = chunk.length - cr
      if (chunk.compare(delimiter, 0, len, cr, chunk.length) === 0) {
        keep(chunk.subarray(at, cr))
        partial = len
        held = Buffer.from(chunk.subarray(cr))
        return -1
      }
      cr = cr > 0 ? chunk.lastIndexOf(CR, cr - 1) : -1
    }
    keep(chunk.subarray(at))
    return -1
  }

  /** Reads the delimiter line's end and the part's header block; returns where reading goes on, or -1 at the chunk's end. */
  const scanHead = (chunk: Buffer, from: number): number => {
    const before = head.length
    const room = MAX_HEADER_BYTES + 4 - before
    const piece = chunk.subarray(from, from + Math.max(0, room))
    head = before === 0 ? Buffer.from(piece) : Buffer.concat([head, piece])
    if (head.length >= 2 && head[0] === DASH && head[1] === DASH) {
      state = "epilogue"
      scanEpilogue(head.subarray(2))
      return -1
    }
    if (head.length >= 2 && (head[0] !== CR || head[1] !== 0x0a)) {
      problem = "a multipart delimiter line does not end in CRLF"
      return -1
    }
    const end = head.indexOf(CRLF_CRLF, Math.max(0, before - 3))
    // `head` starts with the delimiter line's CRLF: a delimiter found before the block ends is inside it.
    if (head.subarray(0, end < 0 ? head.length : end).indexOf(delimiter) >= 0) {
      problem = "a multipart part ends inside its headers"
      return -1
    }
    if (end < 0) {
      if (head.length > MAX_HEADER_BYTES)
        problem = `a multipart part has more than ${MAX_HEADER_BYTES} bytes of headers`
      return -1
    }
    const used = end + 4 - before
    if (++parts > MAX_PARTS) {
      problem = `the multipart body has more than ${MAX_PARTS} parts`
      return -1
    }
    const parsed = parsePartHeaders(head.subarray(2, end + 2).toString("latin1"))
    if (typeof parsed === "string") {
      problem = parsed
      return -1
    }
    const valueStart = offset + from + used
    part = { index: parts - 1, name: parsed.name, filename: parsed.filename, valueStart }
    value = collect.has(parsed.name) && parsed.filename === undefined ? [] : undefined
    valueBytes = 0
    head = Buffer.alloc(0)
    state = "body"
    // The CRLF that ended the block may begin the next delimiter (a part without a body).
    partial = 2
    held = CRLF
    heldVirtual = true
    events.onPart(part)
    return from + used
  }

  /** After the closing delimiter: a CRLF at most. */
  const scanEpilogue = (bytes: Buffer) => {
    for (const byte of bytes) {
      if (epilogue >= 2 || byte !== CRLF[epilogue]) {
        problem = "the multipart body has bytes after its closing boundary"
        return
      }
      epilogue++
    }
  }

  const push = (chunk: Buffer): string | undefined => {
    let at = 0
    while (problem === undefined && at >= 0 && at < chunk.length) {
      if (state === "epilogue") {
        scanEpilogue(chunk.subarray(at))
        break
      }
      at = state === "head" ? scanHead(chunk, at) : scanData(chunk, at)
    }
    offset += chunk.length
    return problem
  }

  return { push, closed: () => state === "epilogue" }
}

/** Header names are tokens (RFC 9110). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A header value: visible characters, spaces and tabs (bytes over 0x7f are allowed: raw UTF-8 file names). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** The name and file name of a part from its header lines, or why they are not acceptable. */
export const parsePartHeaders = (
  block: string,
): { readonly name: string; readonly filename: string | undefined } | string => {
  let disposition: string | undefined
  // The block is "Name: value\r\n" lines (the terminating empty line removed by the caller).
  const lines = block.split("\r\n")
  if (lines[lines.length - 1] === "") lines.pop()
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon <= 0) return "a multipart part has a malformed header line"
    const name = line.slice(0, colon)
    const value = line.slice(colon + 1)
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return "a multipart part has a malformed header line"
    if (name.toLowerCase() === "content-disposition") {
      if (disposition !== undefined) return "a multipart part has two Content-Disposition headers"
      disposition = value.trim()
    }
  }
  if (disposition === undefined) return "a multipart part has no Content-Disposition header"
  return parseDisposition(disposition)
}

/** `form-data; name="…"; filename="…"`: the name (required) and the file name. */
const parseDisposition = (value: string): { readonly name: string; readonly filename: string | undefined } | string => {
  const bad = "a multipart part has a malformed Content-Disposition header"
  const semi = value.indexOf(";")
  const type = (semi < 0 ? value : value.slice(0, semi)).trim()
  if (type.toLowerCase() !== "form-data") return "a multipart part is not form-data"
  const params = new Map<string, string>()
  let rest = semi < 0 ? "" : value.slice(semi + 1)
  while (rest.trim() !== "") {
    const match = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*/.exec(rest)
    if (match === null) return bad
    const key = match[1]!.toLowerCase()
    rest = rest.slice(match[0].length)
    let param: string
    if (rest.startsWith('"')) {
      let i = 1
      let text = ""
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) i++
        text += rest[i]
      }
      if (i >= rest.length) return bad
      // Readers differ on backslash escapes: a name that needs one could read as another name upstream.
      if (key === "name" && rest.slice(0, i).includes("\\"))
        return "a multipart part name with a backslash is not supported"
      param = text
      rest = rest.slice(i + 1)
    } else {
      const token = /^[^\s;"]*/.exec(rest)![0]
      param = token
      rest = rest.slice(token.length)
    }
    if (params.has(key)) return bad
    params.set(key, param)
    rest = rest.replace(/^\s*/, "")
    if (rest !== "" && !rest.startsWith(";")) return bad
    rest = rest.slice(1)
  }
  // An extended name (RFC 2231) could name a part differently for another reader: refused.
  if (params.has("name*")) return "a multipart part names itself with name*, which is not supported"
  const name = params.get("name")
  if (name === undefined || name === "") return "a multipart part has no name"
  return { name, filename: params.get("filename") ?? (params.has("filename*") ? "" : undefined) }
}
