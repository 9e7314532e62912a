// What a closed stdout/stderr pipe does to the process: a CLI command piped to `head` stops
// quietly (its reader wants no more), while `grenier server` keeps serving (only logs are lost).
let keepServing = false;

/** Installed once by the CLI entry point, before any command writes. */
export function handleBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      // A server's logs are not worth its requests: whatever broke the pipe, go on serving.
      if (keepServing) return;
      // The reader is gone (`| head -1`): nothing left to tell it; stop as `yes | head` does, quietly.
      process.exit(e.code === 'EPIPE' ? 0 : 1);
    });
  }
}

/** `grenier server`: a broken stdout/stderr no longer ends the process. */
export function keepServingOnBrokenPipes(): void {
  keepServing = true;
}
