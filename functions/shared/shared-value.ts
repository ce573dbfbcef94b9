/**
 * The caching the adapters and the handler share: a value loaded by one call at a time (concurrent callers
 * share it), reused while `fresh`; a failure is never kept, so the next caller loads again.
 */
export class SharedValue<T> {
  private entry?: { promise: Promise<T>; value?: T; settled: boolean };
  constructor(
    private readonly load: () => Promise<T>,
    private readonly fresh: (value: T) => boolean = () => true,
  ) {}
  get(): Promise<T> {
    const current = this.entry;
    if (current && (!current.settled || this.fresh(current.value as T))) return current.promise;
    const entry: { promise: Promise<T>; value?: T; settled: boolean } = { promise: this.load(), settled: false };
    this.entry = entry;
    entry.promise.then(
      (value) => Object.assign(entry, { value, settled: true }),
      () => {
        if (this.entry === entry) this.entry = undefined;
      },
    );
    return entry.promise;
  }

  /** Drops the value (or the call in flight), so the next `get` loads again. */
  forget(): void {
    this.entry = undefined;
  }
}
