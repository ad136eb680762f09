// Must NOT compile: an error id the server never answers (a typo of order_taken).
import type { components } from "./api";

export function isTaken(e: components["schemas"]["Error"]): boolean {
  return e.error === "order_takne";
}
