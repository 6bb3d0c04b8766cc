/**
 * The service's admission control and dispatcher. Work is counted in samples: a request is admitted
 * whole, or refused when its samples would take the pending count (waiting + running) past
 * `capacity`. Admitted samples run first come, first served, at most `concurrency` at a time.
 *
 * Every sample of a batch is answered within `deadlineMs` of admission: a sample still waiting then
 * is dropped without running; one already running is answered as timed out and keeps its slot (and
 * its place in `pending`) until the judge finishes it, so the counts stay honest about the load.
 */

export type Outcome<T> =
  | { status: 'done'; value: T }
  | { status: 'failed'; error: Error }
  /** `started`: the work had begun (it goes on in the background until the judge's limits end it). */
  | { status: 'timed_out'; started: boolean }
  /** The caller went away (its signal aborted) before the sample started. */
  | { status: 'cancelled' };

export interface QueueOptions {
  /** Most samples admitted and not yet finished (waiting plus running). */
  capacity: number;
  /** Most samples running at once. */
  concurrency: number;
}

export interface BatchOptions {
  /** Every sample is answered within this many milliseconds of admission. */
  deadlineMs: number;
  /** Aborting drops the batch's samples that have not started. */
  signal?: AbortSignal;
}

interface Job {
  work: () => Promise<unknown>;
  resolve: (outcome: Outcome<unknown>) => void;
  /** Answers the job once (later answers are ignored) and keeps its batch's count. */
  answer: (outcome: Outcome<unknown>) => void;
  state: 'waiting' | 'running' | 'dropped' | 'finished';
  answered: boolean;
}

/** Completions per second over the last few seconds, in one-second buckets. */
class RateMeter {
  private readonly counts: number[];
  private readonly seconds: number[];

  constructor(private readonly window = 10) {
    this.counts = new Array<number>(window).fill(0);
    this.seconds = new Array<number>(window).fill(-1);
  }

  mark(now: number): void {
    const second = Math.floor(now / 1000);
    const slot = second % this.window;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]++;
  }

  perSecond(now: number): number {
    const second = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < this.window; i++) {
      if (this.seconds[i] > second - this.window) total += this.counts[i];
    }
    return total / this.window;
  }
}

export class ScoringQueue {
  readonly capacity: number;
  readonly concurrency: number;
  private readonly line: Job[] = [];
  private head = 0;
  private waitingCount = 0;
  private runningCount = 0;
  private readonly rate = new RateMeter();

  constructor(options: QueueOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new Error(`queue capacity: expected a positive integer, got ${options.capacity}`);
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new Error(`queue concurrency: expected a positive integer, got ${options.concurrency}`);
    this.capacity = options.capacity;
    this.concurrency = options.concurrency;
  }

  /** Samples admitted and not started. */
  get waiting(): number {
    return this.waitingCount;
  }

  /** Samples running, including those already answered as timed out. */
  get running(): number {
    return this.runningCount;
  }

  get pending(): number {
    return this.waitingCount + this.runningCount;
  }

  /** Whether `count` more samples fit now. */
  fits(count: number): boolean {
    return this.pending + count <= this.capacity;
  }

  /**
   * Admits the batch and returns one promise per item, in order, each settling with the item's
   * outcome (never rejecting); or `undefined`, admitting nothing, when the batch does not fit.
   */
  submit<T>(works: readonly (() => Promise<T>)[], options: BatchOptions): Promise<Outcome<T>>[] | undefined {
    if (!this.fits(works.length)) return undefined;
    const jobs: Job[] = [];
    const promises = works.map((work) => new Promise<Outcome<T>>((resolve) => {
      jobs.push({ work, resolve: resolve as (outcome: Outcome<unknown>) => void, answer: () => {}, state: 'waiting', answered: false });
    }));
    if (jobs.length === 0) return promises;
    let unanswered = jobs.length;
    const finishBatch = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const answer = (job: Job, outcome: Outcome<unknown>) => {
      if (job.answered) return;
      job.answered = true;
      job.resolve(outcome);
      if (--unanswered === 0) finishBatch();
    };
    const timer = setTimeout(() => {
      for (const job of jobs) {
        if (job.state === 'waiting') this.drop(job);
        answer(job, { status: 'timed_out', started: job.state !== 'dropped' });
      }
    }, options.deadlineMs);
    const onAbort = () => {
      for (const job of jobs) {
        if (job.state !== 'waiting') continue;
        this.drop(job);
        answer(job, { status: 'cancelled' });
      }
    };
    for (const job of jobs) {
      job.answer = (outcome) => answer(job, outcome);
      this.line.push(job);
    }
    this.waitingCount += jobs.length;
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    this.pump();
    return promises;
  }

  /** Seconds after which a batch of `count` samples may fit, from the recent completion rate. */
  retryAfterSeconds(count: number, now = Date.now()): number {
    const excess = Math.max(1, this.pending + count - this.capacity);
    const perSecond = this.rate.perSecond(now);
    const estimate = perSecond > 0 ? excess / perSecond : 5;
    return Math.min(60, Math.max(1, Math.ceil(estimate)));
  }

  private drop(job: Job): void {
    job.state = 'dropped';
    this.waitingCount--;
  }

  private pump(): void {
    while (this.runningCount < this.concurrency && this.head < this.line.length) {
      const job = this.line[this.head++];
      if (job.state === 'waiting') this.start(job);
    }
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line.splice(0, this.head);
      this.head = 0;
    }
  }

  private start(job: Job): void {
    job.state = 'running';
    this.waitingCount--;
    this.runningCount++;
    let work: Promise<unknown>;
    try {
      work = job.work();
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      (value) => job.answer({ status: 'done', value }),
      (error: unknown) => job.answer({ status: 'failed', error: error instanceof Error ? error : new Error(String(error)) }),
    ).finally(() => {
      job.state = 'finished';
      this.runningCount--;
      this.rate.mark(Date.now());
      this.pump();
    });
  }
}
