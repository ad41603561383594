import { localText } from "../../api/LocalTime.js"
import type { ApiKey } from "../../api/Types.js"
import { StackTable } from "../../Controls.js"
import { allowListText, budgetText, limitsText } from "./KeyText.js"

/** The keys of one user: what each may do, with an edit and a revoke button. */
export const KeyTable = ({
  keys,
  caption,
  onEdit,
  onRevoke,
}: {
  readonly keys: ReadonlyArray<ApiKey>
  readonly caption: string
  readonly onEdit: (key: ApiKey) => void
  readonly onRevoke: (key: ApiKey) => void
}) => (
  <StackTable caption={caption} columns={["Name", "Key", "Expires", "Providers", "Limits", "Budget", "Status"]} actions>
    {keys.map((key) => (
      <tr key={key.id}>
        <th scope="row">{key.name}</th>
        <td data-label="Key">
          <code>{key.key_prefix}…</code>
        </td>
        <td data-label="Expires" title={key.expires_at ?? undefined}>
          {key.expires_at === null ? "never" : localText(key.expires_at)}
        </td>
        <td data-label="Providers">{allowListText(key.allowed_provider_ids)}</td>
        <td data-label="Limits">{limitsText(key)}</td>
        <td data-label="Budget">{budgetText(key.budget)}</td>
        <td data-label="Status">
          {key.is_active
            ? key.expires_at !== null && Date.parse(key.expires_at) <= Date.now()
              ? "expired"
              : "active"
            : "inactive"}
        </td>
        <td>
          <div class="row">
            <button type="button" class="secondary" onClick={() => onEdit(key)} aria-label={`Edit ${key.name}`}>
              Edit
            </button>
            <button type="button" class="danger" onClick={() => onRevoke(key)} aria-label={`Revoke ${key.name}`}>
              Revoke
            </button>
          </div>
        </td>
      </tr>
    ))}
  </StackTable>
)
