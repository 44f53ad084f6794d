import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue } from '../../../drivers/request-queue.js';
import { AgentError } from '../../../protocol/errors.js';

// Pure logic: fake timers stand for the task durations and the queue's timeouts, so the tests say
// exactly when something happens instead of sleeping and hoping.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RequestQueue', () => {
  it('runs one task at a time, in order', async () => {
    const q = new RequestQueue();
    const log: string[] = [];
    let running = 0;
    const task = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await sleep(5);
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const all = Promise.all([q.run(task('a'), { timeoutMs: 500 }), q.run(task('b'), { timeoutMs: 500 }), q.run(task('c'), { timeoutMs: 500 })]);
    await vi.advanceTimersByTimeAsync(5);
    expect(log).toEqual(['start a', 'end a', 'start b']);
    await vi.advanceTimersByTimeAsync(10);
    expect(await all).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('times out a task, aborts its signal, and moves on', async () => {
    const q = new RequestQueue({ name: 'test' });
    let aborted = false;
    const slow = q.run(
      (signal) =>
        new Promise<never>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
      { timeoutMs: 30, label: 'PWR?' },
    );
    const next = q.run(async () => 'next', { timeoutMs: 500 });
    const settled = slow.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(29);
    expect(aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await settled;
    await expect(slow).rejects.toMatchObject({ code: 'timeout', retryable: true });
    await expect(slow).rejects.toThrow(/PWR\?/);
    expect(aborted).toBe(true);
    await expect(next).resolves.toBe('next');
  });

  it('the timeout counts from the start of the task, not from enqueueing', async () => {
    const q = new RequestQueue();
    const first = q.run(() => sleep(60).then(() => 1), { timeoutMs: 200 });
    // Enqueued at 0, started at 60, done at 80: past 50 from enqueueing, within 50 of its start.
    const second = q.run(() => sleep(20).then(() => 2), { timeoutMs: 50 });
    const both = Promise.all([first, second]);
    await vi.advanceTimersByTimeAsync(80);
    await expect(both).resolves.toEqual([1, 2]);
  });

  it('close rejects running and waiting tasks with code closed and refuses new ones', async () => {
    const q = new RequestQueue();
    const running = q.run(() => new Promise(() => undefined), { timeoutMs: 10_000 });
    const waiting = q.run(async () => 1, { timeoutMs: 10_000 });
    q.close();
    await expect(running).rejects.toMatchObject({ code: 'closed' });
    await expect(waiting).rejects.toMatchObject({ code: 'closed' });
    await expect(q.run(async () => 1, { timeoutMs: 100 })).rejects.toBeInstanceOf(AgentError);
    expect(q.size).toBe(0);
  });

  it('refuses work beyond maxPending with busy', async () => {
    const q = new RequestQueue({ maxPending: 2 });
    let release = (): void => undefined;
    const block = q.run(() => new Promise<void>((r) => (release = r)), { timeoutMs: 500 });
    const a = q.run(async () => 1, { timeoutMs: 500 });
    const b = q.run(async () => 2, { timeoutMs: 500 });
    await expect(q.run(async () => 3, { timeoutMs: 500 })).rejects.toMatchObject({ code: 'busy' });
    release();
    await expect(Promise.all([block, a, b])).resolves.toEqual([undefined, 1, 2]);
  });

  it('a task error passes through unchanged', async () => {
    const q = new RequestQueue();
    await expect(q.run(async () => { throw new AgentError('auth', 'bad password'); }, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'auth' });
    await expect(q.run(async () => 'ok', { timeoutMs: 100 })).resolves.toBe('ok');
  });
});
