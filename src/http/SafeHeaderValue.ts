/** The longest header value built from a name the edge did not choose (model ids, provider ids). */
const HEADER_VALUE_MAX = 512

/** Printable ASCII: a header value that needs no encoding. */
const PLAIN_HEADER_VALUE = /^[\x20-\x7e]*$/

/**
 * `value` as a header value that is always valid (`http.validateHeaderValue` accepts it) and
 * always one line: printable ASCII passes unchanged; any other byte of its UTF-8 form (CR, LF,
 * controls, anything outside ASCII, e.g. `qwen-模型` → `qwen-%E6%A8%A1%E5%9E%8B`) and `%` itself
 * are percent-encoded; at most `HEADER_VALUE_MAX` characters. Every response header the edge
 * builds from a client's or a provider's data goes through here.
 */
export const safeHeaderValue = (value: string): string => {
  if (value.length <= HEADER_VALUE_MAX && PLAIN_HEADER_VALUE.test(value)) return value
  let out = ""
  // Buffer.from replaces a lone surrogate with U+FFFD (encodeURIComponent would throw on it).
  for (const byte of Buffer.from(value, "utf8")) {
    const encoded =
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte < 16 ? "0" : ""}${byte.toString(16).toUpperCase()}`
    if (out.length + encoded.length > HEADER_VALUE_MAX) break
    out += encoded
  }
  return out
}
