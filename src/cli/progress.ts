// Progress of long CLI work on stderr: a redrawn bar on a terminal, plain throttled lines
// otherwise (logs and CI keep a readable record, and scripts can follow it).

export function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** `[=====>    ] 12/40 files 3.1/9.8 MB` */
export function progressLine(files: number, totalFiles: number, bytes: number, totalBytes: number, width = 20): string {
  const frac = totalBytes > 0 ? Math.min(1, bytes / totalBytes) : totalFiles > 0 ? files / totalFiles : 1;
  const full = Math.floor(frac * width);
  const bar = full >= width ? '='.repeat(width) : '='.repeat(full) + '>' + ' '.repeat(width - full - 1);
  return `[${bar}] ${files}/${totalFiles} files ${mb(bytes)}/${mb(totalBytes)} MB`;
}

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class Progress {
  private files = 0;
  private bytes = 0;
  private last = 0;
  private readonly out: ProgressSink;
  private readonly totalFiles: number;
  private readonly totalBytes: number;
  private readonly intervalMs: number;

  constructor(totalFiles: number, totalBytes: number, out: ProgressSink = process.stderr) {
    this.out = out;
    this.totalFiles = totalFiles;
    this.totalBytes = totalBytes;
    this.intervalMs = out.isTTY ? 100 : 1000;
  }

  addBytes(n: number): void {
    this.bytes += n;
    this.draw(false);
  }

  /** A file is done; `unsent` corrects the byte count when a retry re-sent or a skip sent less. */
  fileDone(unsent = 0): void {
    this.files++;
    this.bytes += unsent;
    this.draw(false);
  }

  /** Bytes of a failed attempt, taken back before a retry. */
  undo(n: number): void {
    this.bytes -= n;
  }

  finish(): void {
    this.draw(true);
    if (this.out.isTTY) this.out.write('\n');
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const line = progressLine(this.files, this.totalFiles, this.bytes, this.totalBytes);
    this.out.write(this.out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }
}
