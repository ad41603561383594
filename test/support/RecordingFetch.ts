/** One request a client sent through a `RecordingFetch`, and the headers it got back. */
export interface RecordedCall {
  readonly url: string
  readonly headers: Headers
  /** The request body exactly as the client serialised it ("" when it was not text). */
  readonly body: string
  responseHeaders: Headers | undefined
}

export interface RecordingFetch {
  /** Give this to an SDK as its `fetch`. */
  readonly fetch: typeof fetch
  readonly calls: ReadonlyArray<RecordedCall>
  /** The most recent call (throws when there is none). */
  readonly last: () => RecordedCall
}

/** A `fetch` that records what an SDK really sends (headers and body bytes) and what it got back. */
export const recordingFetch = (): RecordingFetch => {
  const calls: Array<RecordedCall> = []
  const recording: typeof fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url
    const call: RecordedCall = {
      url,
      headers: new Headers(init?.headers),
      body: typeof init?.body === "string" ? init.body : "",
      responseHeaders: undefined,
    }
    calls.push(call)
    const response = await fetch(input, init)
    call.responseHeaders = response.headers
    return response
  }
  return {
    fetch: recording,
    calls,
    last: () => {
      const call = calls.at(-1)
      if (call === undefined) throw new Error("recordingFetch: no request was sent")
      return call
    },
  }
}
