import { afterAll } from "vitest"
import { closeFileResources } from "./FileTeardown.js"

// Runs before every test file (vitest `setupFiles`): what the file opened closes with it. Only a
// registry is imported here, so a file that never opens a database loads no database code.
afterAll(closeFileResources)
