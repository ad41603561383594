import { type Option, Schema } from "effect"
import { cachedDecoder } from "./CachedDecoder.js"

/**
 * A record kept in Kv as the JSON text of `schema`: `encode` to write it, `decode` to read it
 * back — `None` for text that is not JSON or does not fit (an entry another version wrote reads
 * as absent, never as an error). `cached`: the decoder keeps what it decoded by the text
 * (`cachedDecoder`), for records routing reads on every request.
 */
export const kvRecord = <A, I>(schema: Schema.Schema<A, I>, options: { readonly cached?: boolean } = {}) => {
  const text = Schema.parseJson(schema)
  const decodeText = Schema.decodeUnknownOption(text)
  const decode = (raw: string): Option.Option<A> => decodeText(raw)
  return { decode: options.cached === true ? cachedDecoder(decode) : decode, encode: Schema.encodeSync(text) } as const
}
