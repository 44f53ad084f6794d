/**
 * One request at a time per link. Serial and most device TCP protocols are half-duplex request/response
 * (PJLink, ESC/VP21, NEC, Modbus): a second command sent before the first is answered is either lost
 * or answered out of order, so every exchange on a link goes through one queue.
 */
import { AgentError, ErrorCodes } from '../protocol/errors.js';
import { Faults } from '../protocol/faults.js';

export interface RequestOptions {
  /**
   * Time allowed once the task starts (not while it waits its turn). Power-on on a lamp projector needs
   * minutes (Epson returns its `:` prompt only after ignition: 40/70/100 s), a status query a few seconds.
   */
  timeoutMs: number;
  /** For error messages, e.g. "POWR ?". */
  label?: string;
}

interface Job {
  run: (signal: AbortSignal) => Promise<unknown>;
  opts: RequestOptions;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface RequestQueueOptions {
  /** Waiting tasks beyond this are refused with `busy`, so a stuck device cannot grow memory. Default 32. */
  maxPending?: number;
  /** Used in error messages, e.g. the transport description. */
  name?: string;
}

/**
 * Runs tasks strictly one after another. Each task gets an AbortSignal that fires on its timeout or on
 * `close()`; the caller's promise rejects at that moment (`timeout` or `closed`) even if the task is
 * slow to notice, and the next task starts then. Tasks must therefore stop touching the link once their
 * signal has fired.
 */
export class RequestQueue {
  private readonly maxPending: number;
  private readonly name: string;
  private readonly waiting: Job[] = [];
  private current: { job: Job; abort: AbortController; timer?: NodeJS.Timeout } | undefined;
  private closedError: AgentError | undefined;

  constructor(options: RequestQueueOptions = {}) {
    this.maxPending = options.maxPending ?? 32;
    this.name = options.name ?? 'link';
  }

  /** Tasks waiting plus the one running. */
  get size(): number {
    return this.waiting.length + (this.current ? 1 : 0);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  run<T>(task: (signal: AbortSignal) => Promise<T>, opts: RequestOptions): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    if (this.waiting.length >= this.maxPending) {
      return Promise.reject(
        new AgentError(ErrorCodes.busy, `${this.name}: ${this.waiting.length} requests already waiting`, { retryable: true }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ run: task, opts, resolve: resolve as (v: unknown) => void, reject });
      this.next();
    });
  }

  /**
   * Rejects the running and all waiting tasks with `error` (default: code `closed`) and refuses new ones.
   * Closing is not failing: callers see `closed`, which the supervisor does not log as a device fault.
   */
  close(error?: AgentError): void {
    const err = error ?? new AgentError(ErrorCodes.closed, `${this.name}: closed`);
    this.closedError = err;
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.abort.abort(err);
      cur.job.reject(err);
    }
    for (const job of this.waiting.splice(0)) job.reject(err);
  }

  private next(): void {
    if (this.current || this.closedError) return;
    const job = this.waiting.shift();
    if (!job) return;
    const abort = new AbortController();
    const slot: { job: Job; abort: AbortController; timer?: NodeJS.Timeout } = { job, abort };
    this.current = slot;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(slot.timer);
      fn();
      if (this.current === slot) {
        this.current = undefined;
        this.next();
      }
    };
    slot.timer = setTimeout(() => {
      const label = job.opts.label ? ` ${job.opts.label}` : '';
      const err = new AgentError(ErrorCodes.timeout, `${this.name}:${label} no answer within ${job.opts.timeoutMs} ms`, {
        retryable: true,
        fault: Faults.no_answer,
      });
      abort.abort(err);
      finish(() => job.reject(err));
    }, job.opts.timeoutMs);
    let p: Promise<unknown>;
    try {
      p = job.run(abort.signal);
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      (v) => finish(() => job.resolve(v)),
      (e) => finish(() => job.reject(abort.signal.aborted ? abort.signal.reason : e)),
    );
  }
}
