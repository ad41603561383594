/**
 * A new user's API key limited to `allowedProviderIds`, made by the gateway's superuser
 * (`masterKey`) through the management API; returns the key's token.
 */
export const restrictedKey = async (
  gatewayUrl: string,
  masterKey: string,
  username: string,
  allowedProviderIds: ReadonlyArray<string>,
): Promise<string> => {
  const admin = { authorization: `Bearer ${masterKey}`, "content-type": "application/json" }
  const user = await fetch(`${gatewayUrl}/users`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ username, email: `${username}@example.com`, password: `${username}-password-1` }),
  })
  if (user.status !== 201) throw new Error(`creating user ${username}: ${user.status} ${await user.text()}`)
  const { id } = (await user.json()) as { id: string }
  const key = await fetch(`${gatewayUrl}/users/${id}/api-keys`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ name: `${username} key`, expiry: "never", allowed_provider_ids: allowedProviderIds }),
  })
  if (key.status !== 201) throw new Error(`creating a key for ${username}: ${key.status} ${await key.text()}`)
  return ((await key.json()) as { token: string }).token
}
