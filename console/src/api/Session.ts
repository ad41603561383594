import { ApiError, errorMessageOf } from "./ApiError.js"

/** The answer of `/auth/login` and `/auth/refresh`. */
interface TokenResponse {
  readonly access_token: string
  readonly refresh_token: string
  readonly expires_in: number
}

interface Tokens {
  readonly access: string
  readonly refresh: string
}

export interface SessionOptions {
  readonly fetch?: typeof fetch
  /** Called once the login is gone (signed out, refresh refused): the console shows the sign-in page. */
  readonly onSignedOut: (reason: string | undefined) => void
  /** Seconds before the access token expires that it is refreshed (default 60). */
  readonly refreshMarginSeconds?: number
}

/**
 * A management login, held in memory only: the access token (a JWT) and the refresh token live
 * in this closure — never in `localStorage`, `sessionStorage` or a cookie, so a reload signs out.
 * The access token is refreshed shortly before it expires, and once more on a 401; a refresh
 * the gateway refuses ends the session. Concurrent callers share one refresh (each refresh token
 * works once: a second use would end the whole login).
 */
export const createSession = (options: SessionOptions) => {
  const fetchFn = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init))
  const margin = options.refreshMarginSeconds ?? 60
  let tokens: Tokens | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let refreshing: Promise<boolean> | undefined

  const send = async (method: string, path: string, body: unknown, access: string | undefined): Promise<Response> => {
    const headers: Record<string, string> = { accept: "application/json" }
    if (body !== undefined) headers["content-type"] = "application/json"
    if (access !== undefined) headers.authorization = `Bearer ${access}`
    try {
      return await fetchFn(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch {
      throw new ApiError(0, errorMessageOf(0, undefined))
    }
  }

  const decode = async <A>(response: Response): Promise<A> => {
    const text = await response.text()
    let body: unknown
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    if (!response.ok) throw new ApiError(response.status, errorMessageOf(response.status, body))
    return body as A
  }

  const clear = () => {
    tokens = undefined
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }

  const adopt = (answer: TokenResponse) => {
    tokens = { access: answer.access_token, refresh: answer.refresh_token }
    if (timer !== undefined) clearTimeout(timer)
    const inMs = Math.max(5, answer.expires_in - margin) * 1000
    timer = setTimeout(() => void refresh(), inMs)
  }

  const end = (reason: string | undefined) => {
    const had = tokens !== undefined
    clear()
    if (had) options.onSignedOut(reason)
  }

  const refresh = (): Promise<boolean> => {
    if (refreshing !== undefined) return refreshing
    const current = tokens
    if (current === undefined) return Promise.resolve(false)
    refreshing = send("POST", "/auth/refresh", { refresh_token: current.refresh }, undefined)
      .then((response) => decode<TokenResponse>(response))
      .then(
        (answer) => {
          if (tokens === current) adopt(answer)
          return true
        },
        () => {
          if (tokens === current) end("Your session has ended: sign in again.")
          return false
        },
      )
      .finally(() => {
        refreshing = undefined
      })
    return refreshing
  }

  /** A management API call with the login's access token; one refresh and retry on 401. */
  const request = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    if (refreshing !== undefined) await refreshing
    const first = await send(method, path, body, tokens?.access)
    if (first.status !== 401 || tokens === undefined) return decode<A>(first)
    await first.body?.cancel()
    if (!(await refresh())) throw new ApiError(401, "Your session has ended: sign in again.")
    return decode<A>(await send(method, path, body, tokens?.access))
  }

  return {
    get signedIn() {
      return tokens !== undefined
    },
    async signIn(username: string, password: string): Promise<void> {
      adopt(await decode<TokenResponse>(await send("POST", "/auth/login", { username, password }, undefined)))
    },
    /** Ends the login at the gateway (its refresh token and access tokens), then here. */
    async signOut(): Promise<void> {
      const current = tokens
      if (current === undefined) return
      try {
        await decode(await send("POST", "/auth/logout", { refresh_token: current.refresh }, undefined))
      } finally {
        end(undefined)
      }
    },
    /** Forgets the login here only (the gateway already ended it, e.g. after a password change). */
    forget(reason: string | undefined): void {
      end(reason)
    },
    request,
    refresh,
  }
}

export type Session = ReturnType<typeof createSession>
