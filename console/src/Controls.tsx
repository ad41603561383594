import type { ComponentChildren, JSX } from "preact"
import { useId, useState } from "preact/hooks"

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value" | "label"> & {
  readonly label: string
  readonly value: string
  readonly onValue: (value: string) => void
  readonly hint?: string
}

/** A labelled input; its hint is tied to it with aria-describedby. */
export const Field = ({ label, value, onValue, hint, ...rest }: InputProps) => {
  const id = useId()
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        aria-describedby={hint === undefined ? undefined : `${id}-hint`}
        {...rest}
      />
      {hint === undefined ? null : (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      )}
    </div>
  )
}

export const Select = ({
  label,
  value,
  onValue,
  options,
  disabled,
}: {
  readonly label: string
  readonly value: string
  readonly onValue: (value: string) => void
  readonly options: ReadonlyArray<readonly [string, string]>
  readonly disabled?: boolean
}) => {
  const id = useId()
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} disabled={disabled} onChange={(event) => onValue(event.currentTarget.value)}>
        {options.map(([optionValue, text]) => (
          <option key={optionValue} value={optionValue}>
            {text}
          </option>
        ))}
      </select>
    </div>
  )
}

/** An error (announced at once) or a confirmation (announced politely). */
export const Notice = ({ kind, children }: { readonly kind: "error" | "ok"; readonly children: ComponentChildren }) =>
  kind === "error" ? (
    <p class="notice error" role="alert">
      {children}
    </p>
  ) : (
    <p class="notice ok" role="status">
      {children}
    </p>
  )

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * A form's submit: runs `action`, with `busy` while it runs and the failure's message in `error`
 * (cleared on the next try).
 */
export const useSubmit = (action: () => Promise<void>) => {
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      await action()
    } catch (failure) {
      setError(messageOf(failure))
    } finally {
      setBusy(false)
    }
  }
  return { submit, error, setError, busy }
}

/**
 * A table that becomes one card per row on a phone (`table.stack`): its column headings (and a
 * hidden "Actions" one for a last column of buttons), a caption for screen readers, and its rows.
 */
export const StackTable = ({
  caption,
  columns,
  actions,
  children,
}: {
  readonly caption: string
  readonly columns: ReadonlyArray<string>
  readonly actions?: boolean
  readonly children: ComponentChildren
}) => (
  <div class="table-wrap">
    <table class="stack">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          {actions === true ? (
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          ) : null}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
)
