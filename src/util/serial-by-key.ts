// Runs async jobs one at a time per key (jobs of other keys run freely): each job starts once the
// previous one of its key has settled, and a key's entry is dropped when its last job ends.

export class SerialByKey {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.tails.set(key, tail);
    try {
      return await run;
    } finally {
      // The last one out leaves nothing behind (the map holds only keys with jobs queued).
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
