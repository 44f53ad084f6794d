/**
 * Waiting on state, for the tests and the bench alike. A test never sleeps to let something happen: it
 * waits until the state it expects is there (or fails with the last error seen once the time is up).
 */

/** A plain pause. The bench paces its scenarios with it; tests use waitFor (or fake timers) instead. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Check<T> = () => T | Promise<T>;

/**
 * Polls `check` every `intervalMs` until it returns something truthy (which is returned), or throws
 * once `timeoutMs` has passed. A check that throws counts as "not yet"; its last error is in the
 * timeout message. The labelled form (`what` first) names the awaited state in that message.
 */
export function waitFor<T>(check: Check<T>, timeoutMs?: number, intervalMs?: number): Promise<NonNullable<T>>;
export function waitFor<T>(what: string, check: Check<T>, timeoutMs?: number, intervalMs?: number): Promise<NonNullable<T>>;
export async function waitFor<T>(...args: [Check<T>, number?, number?] | [string, Check<T>, number?, number?]): Promise<NonNullable<T>> {
  const [what, check, timeoutMs = 10_000, intervalMs = 25] =
    typeof args[0] === 'string' ? (args as [string, Check<T>, number?, number?]) : ([undefined, ...args] as [undefined, Check<T>, number?, number?]);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`waitFor timed out after ${timeoutMs} ms${what ? ` waiting for ${what}` : ''}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
