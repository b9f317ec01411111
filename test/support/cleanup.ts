/**
 * Clean-up steps registered while a test file sets up (namespaces, users, processes), run in
 * reverse order after its tests, every one even when an earlier one throws.
 */
import { afterAll } from "vitest";

/** A list to push clean-up steps onto; they run after the file's tests, last pushed first. */
export function cleanupSteps(what: string): (() => unknown)[] {
  const steps: (() => unknown)[] = [];
  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `${what} clean-up failed`);
  });
  return steps;
}
