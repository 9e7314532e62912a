import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from './worker.ts';
import { systemClock } from './time.ts';

const HOUR = 3600_000;

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a trigger during a pass runs another pass right after it (not after the interval)', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let passes = 0;
  const w = new Worker('t', HOUR, systemClock, async () => {
    passes++;
    if (passes === 1) await gate;
  });
  w.start();
  try {
    await until('the first pass', () => passes === 1);
    w.trigger(); // the change it signals came after what pass 1 read
    release();
    await until('a second pass', () => passes === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(passes, 2, 'one trigger, one extra pass');
  } finally {
    await w.stop();
  }
});

test('a trigger while idle wakes the worker; retryIn shortens only the next pause', async () => {
  let passes = 0;
  const w = new Worker('t', HOUR, systemClock, async (self) => {
    passes++;
    if (passes === 2) self.retryIn(30);
  });
  w.start();
  try {
    await until('the first pass', () => passes === 1);
    await new Promise((r) => setTimeout(r, 30));
    w.trigger();
    await until('a triggered pass', () => passes === 2);
    await until('the retry asked by pass 2', () => passes === 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(passes, 3, 'pass 3 did not ask for a retry: back to the interval');
  } finally {
    await w.stop();
  }
});
