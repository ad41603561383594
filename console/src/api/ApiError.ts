/** A failed call to the gateway: its status and the message the console shows. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = "ApiError"
  }
}

/**
 * The message of an error answer: the management API's `{ _tag, message }`, the data
 * plane's `{ error: { message } }`, else the status.
 */
export const errorMessageOf = (status: number, body: unknown): string => {
  if (typeof body === "object" && body !== null) {
    const record = body as { message?: unknown; error?: { message?: unknown } }
    if (typeof record.error === "object" && record.error !== null && typeof record.error.message === "string")
      return record.error.message
    // A validation error's message names the field first ("base_url: expected an http(s) URL").
    if (typeof record.message === "string") return record.message
  }
  return status === 0 ? "The gateway could not be reached" : `The gateway answered ${status}`
}
