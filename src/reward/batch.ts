/**
 * Maps `fn` over `items` with at most `concurrency` calls in flight and yields results in input order,
 * so a caller can stream them to a file while memory stays bounded by the window.
 */
export async function* mapOrdered<T, R>(items: Iterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  const iterator = items[Symbol.iterator]();
  let done = false;
  const refill = () => {
    while (!done && window.length < concurrency) {
      const next = iterator.next();
      if (next.done) done = true;
      else {
        const pending = fn(next.value);
        pending.catch(() => { /* rethrown when its turn comes */ });
        window.push(pending);
      }
    }
  };
  refill();
  while (window.length > 0) {
    const result = await window.shift()!;
    refill();
    yield result;
  }
}
