// A node process that is gone (exited, crashed, killed by someone else) must never throw a fault run
// away: the nemesis treats it as a crash — logged, counted, restarted as the kill nemesis does — and
// never signals or straces a pid that is no longer the node's (pids are reused: pid_max may be 32768).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Nemesis } from './lib/nemesis.ts';
import type { Cluster } from '../lib/cluster.ts';

/** A pid that was a process and is gone (exited and reaped). */
async function gonePid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(c, 'exit');
  await new Promise((r) => setTimeout(r, 50));
  return c.pid!;
}

/** A fake cluster of one node whose restart starts a real idle process naming its config (so the
 *  liveness check sees it), or fails `failRestarts` times first. */
function fakeCluster(pid: number, failRestarts = 0) {
  const children: ChildProcess[] = [];
  const configPath = `/tmp/grenier-vanished-${process.pid}-${Math.random().toString(36).slice(2)}.toml`;
  const node = {
    index: 0,
    id: 'n0',
    zone: 'paris',
    dir: '/nonexistent',
    configPath,
    pid,
    restarts: 0,
    output: () => 'last words of the node\n',
    async kill() {},
    async restart() {
      if (failRestarts > 0) {
        failRestarts--;
        throw new Error('startNode: no healthy answer within 20000 ms');
      }
      node.restarts++;
      const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', configPath], { stdio: 'ignore' });
      children.push(c);
      node.pid = c.pid!;
    },
  };
  const cluster = { nodes: [node], node: () => node } as unknown as Cluster;
  return { node, cluster, cleanup: () => children.forEach((c) => c.kill('SIGKILL')) };
}

function nemesisOn(cluster: Cluster, lines: string[]): Nemesis {
  return new Nemesis({ cluster, seed: 1, log: (l) => lines.push(l), zones: ['paris'] });
}

test('fsync-eio on a node whose process is gone: a crash (logged, restarted at the heal), not a thrown run', { timeout: 20_000 }, async () => {
  const { node, cluster, cleanup } = fakeCluster(await gonePid());
  const lines: string[] = [];
  const nem = nemesisOn(cluster, lines);
  try {
    await nem.apply({ kind: 'fsync-eio', nodes: [0], every: 1 });
    await nem.heal({ kind: 'fsync-eio', nodes: [0], every: 1 });
    assert.equal(node.restarts, 1);
    assert.equal(nem.counts.crashes, 1);
    assert.match(lines.join('\n'), /n0 .*gone/);
  } finally {
    cleanup();
  }
});

test('pause on a node whose process is gone: no signal to a stranger pid, restarted at the heal', { timeout: 20_000 }, async () => {
  const { node, cluster, cleanup } = fakeCluster(await gonePid());
  const lines: string[] = [];
  const nem = nemesisOn(cluster, lines);
  try {
    await nem.apply({ kind: 'pause', nodes: [0] });
    await nem.heal({ kind: 'pause', nodes: [0] });
    assert.equal(node.restarts, 1);
    assert.equal(nem.counts.crashes, 1);
  } finally {
    cleanup();
  }
});

test('a pid reused by another process is not the node: treated as gone, never stopped', { timeout: 20_000 }, async () => {
  // The pid of a live process that is not the node (its command line does not name the config).
  const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  const { node, cluster, cleanup } = fakeCluster(stranger.pid!);
  const nem = nemesisOn(cluster, []);
  try {
    await nem.apply({ kind: 'pause', nodes: [0] });
    await new Promise((r) => setTimeout(r, 50));
    const state = (await import('node:fs')).readFileSync(`/proc/${stranger.pid}/stat`, 'utf8').split(') ')[1]![0];
    assert.notEqual(state, 'T', 'the stranger process was SIGSTOPped');
    await nem.heal({ kind: 'pause', nodes: [0] });
    assert.equal(node.restarts, 1);
  } finally {
    stranger.kill('SIGKILL');
    cleanup();
  }
});

test('a restart that fails does not throw the run away: retried by reviveVanished', { timeout: 20_000 }, async () => {
  const { node, cluster, cleanup } = fakeCluster(await gonePid(), 1);
  const lines: string[] = [];
  const nem = nemesisOn(cluster, lines);
  try {
    await nem.apply({ kind: 'kill', nodes: [0] });
    await nem.heal({ kind: 'kill', nodes: [0] });
    assert.equal(node.restarts, 0);
    assert.match(lines.join('\n'), /restart.*failed/);
    await nem.reviveVanished();
    assert.equal(node.restarts, 1);
  } finally {
    cleanup();
  }
});

test('reviveVanished: a node that exited without a nemesis is logged with its output tail and restarted', { timeout: 20_000 }, async () => {
  const { node, cluster, cleanup } = fakeCluster(await gonePid());
  const lines: string[] = [];
  const nem = nemesisOn(cluster, lines);
  try {
    await nem.reviveVanished();
    assert.equal(node.restarts, 1);
    assert.equal(nem.counts.vanished, 1);
    assert.match(lines.join('\n'), /last words of the node/);
    await nem.reviveVanished();
    assert.equal(node.restarts, 1, 'a running node is left alone');
  } finally {
    cleanup();
  }
});
