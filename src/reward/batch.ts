/**
 * Maps `fn` over `items` with up to `concurrency` calls in flight and yields results in input order,
 * so a caller can stream them to a file. A slow item does not stall the others: new calls start as
 * soon as any call finishes, while results wait their turn in a buffer of at most `4 × concurrency`
 * (so memory stays bounded even behind one very slow item).
 */
export async function* mapOrdered<T, R>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const iterator = items[Symbol.iterator]();
  const pending = new Map<number, Promise<R>>();   // started, not yet yielded, by input index
  const finished = new Set<number>();
  const maxAhead = 4 * concurrency;
  let started = 0;
  let yielded = 0;
  let running = 0;
  let exhausted = false;
  let wake: (() => void) | null = null;
  const fill = () => {
    while (!exhausted && running < concurrency && started - yielded < maxAhead) {
      const next = iterator.next();
      if (next.done) {
        exhausted = true;
        break;
      }
      running++;
      const index = started++;
      const call = fn(next.value);
      call.catch(() => { /* rethrown when its turn comes */ }).finally(() => {
        running--;
        finished.add(index);
        wake?.();
      });
      pending.set(index, call);
    }
  };
  fill();
  while (pending.size > 0) {
    const head = pending.get(yielded)!;
    // While the oldest call runs, keep starting others as slots free up.
    while (!finished.has(yielded)) {
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = null;
      fill();
    }
    finished.delete(yielded);
    pending.delete(yielded++);
    const result = await head;
    fill();
    yield result;
  }
}
