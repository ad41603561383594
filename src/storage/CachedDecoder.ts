import type { Option } from "effect"

/**
 * Wraps a decoder of stored JSON records with a small cache keyed by the raw text. Routing reads
 * the same few records on every request, and they change only when written; Schema decoding
 * each read costs more than the rest of the read. Decoded values are immutable, so sharing them
 * is safe. The cache is dropped whole when it reaches `capacity` entries.
 */
export const cachedDecoder = <A>(decode: (raw: string) => Option.Option<A>, capacity = 1024) => {
  const cache = new Map<string, Option.Option<A>>()
  return (raw: string): Option.Option<A> => {
    let decoded = cache.get(raw)
    if (decoded === undefined) {
      decoded = decode(raw)
      if (cache.size >= capacity) cache.clear()
      cache.set(raw, decoded)
    }
    return decoded
  }
}
