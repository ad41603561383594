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
 * The message of an error answer: the management API's `{ _tag, message, details? }`, the data
 * plane's `{ error: { message } }`, else the status.
 */
export const errorMessageOf = (status: number, body: unknown): string => {
  if (typeof body === "object" && body !== null) {
    const record = body as { message?: unknown; error?: { message?: unknown }; details?: unknown }
    if (typeof record.error === "object" && record.error !== null && typeof record.error.message === "string") return record.error.message
    if (typeof record.message === "string") {
      const issues = detailIssues(record.details)
      return issues === undefined ? record.message : `${record.message}: ${issues}`
    }
  }
  return status === 0 ? "The gateway could not be reached" : `The gateway answered ${status}`
}

/** Field errors, when the API listed them (`details.issues: [{ path, message }]`). */
const detailIssues = (details: unknown): string | undefined => {
  if (typeof details !== "object" || details === null) return undefined
  const issues = (details as { issues?: unknown }).issues
  if (!Array.isArray(issues) || issues.length === 0) return undefined
  return issues
    .slice(0, 5)
    .map((issue: { path?: unknown; message?: unknown }) => {
      const where = Array.isArray(issue.path) ? issue.path.join(".") : ""
      return `${where === "" ? "" : `${where}: `}${String(issue.message ?? "invalid")}`
    })
    .join("; ")
}
