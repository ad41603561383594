/** Whether `text` holds every one of `parts`, in this order (each after the end of the one before). */
export const containsInOrder = (text: string, parts: ReadonlyArray<string>): boolean => {
  let at = 0
  for (const part of parts) {
    const found = text.indexOf(part, at)
    if (found < 0) return false
    at = found + part.length
  }
  return true
}
