import { expect } from "vitest"

export interface ApiAnswer {
  readonly status: number
  /** The parsed JSON body (`undefined` when empty). */
  readonly body: any
  readonly text: string
}

/**
 * Plain JSON calls to a running gateway (management API and data plane), and the users and API
 * keys tests need: `createUser` and `createKey` as a superuser (`adminToken`).
 */
export const gatewayApi = (url: () => string, adminToken: () => string) => {
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await response.text()
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text), text }
  }

  /** A new active non-superuser; its id. */
  const createUser = async (username: string): Promise<string> => {
    const user = await call("POST", "/users", adminToken(), {
      username,
      email: `${username}@example.com`,
      password: `${username}-password-1234`,
    })
    expect(user.status).toBe(201)
    return user.body.id as string
  }

  /** A new API key of the user: its id and token. */
  const createKey = async (userId: string, name: string): Promise<{ readonly id: string; readonly token: string }> => {
    const key = await call("POST", `/users/${userId}/api-keys`, adminToken(), { name })
    expect(key.status).toBe(201)
    return { id: key.body.id as string, token: key.body.token as string }
  }

  return { call, createUser, createKey } as const
}
