// A small pool of block-sized buffers for streaming reads: a multi-GiB download reuses a few
// buffers instead of leaving one 1 MiB garbage buffer per block for the GC to find later.

export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly max: number;
  constructor(max = 8) {
    this.max = max;
  }
  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= size);
    if (i >= 0) return this.free.splice(i, 1)[0]!;
    return Buffer.allocUnsafeSlow(size);
  }
  give(b: Buffer): void {
    if (this.free.length < this.max) this.free.push(b);
  }
}
