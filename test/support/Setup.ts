import { afterAll } from "vitest"
import { closeSharedTestDatabase } from "./TestDatabase.js"

// Runs before every test file (vitest `setupFiles`): the file's shared database closes with it.
afterAll(closeSharedTestDatabase)
