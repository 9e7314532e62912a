// Packet loss of the network lab (root only): with loss(n1, 50 %), about half of 400 UDP datagrams
// sent from node 0's namespace to node 1's arrive; a partition's heal leaves the loss in place and
// healLoss() restores every packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createNetLab, netnsProblem } from '../lib/netns.ts';

const problem = netnsProblem();

/** Sends `count` datagrams from namespace `from` to `to`'s address and returns how many arrived. */
async function delivered(exec: (i: number) => string[], toIp: string, count: number): Promise<number> {
  const node = process.execPath;
  const recv = spawn(exec(1)[0]!, [...exec(1).slice(1), node, '-e', `
    const s = require('node:dgram').createSocket('udp4'); let n = 0;
    s.on('message', () => n++);
    s.bind(40123, '${toIp}', () => console.log('ready'));
    setTimeout(() => { console.log('got', n); process.exit(0); }, 2500);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  recv.stdout.on('data', (b) => (out += b));
  for (let i = 0; i < 100 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
  const send = spawn(exec(0)[0]!, [...exec(0).slice(1), node, '-e', `
    const s = require('node:dgram').createSocket('udp4'); let i = 0;
    const t = setInterval(() => { s.send('x', 40123, '${toIp}'); if (++i >= ${count}) { clearInterval(t); setTimeout(() => process.exit(0), 50); } }, 1);`], { stdio: 'inherit' });
  await new Promise((r) => send.once('exit', r));
  await new Promise((r) => recv.once('exit', r));
  return Number(/got (\d+)/.exec(out)?.[1] ?? -1);
}

test('netns loss drops about the given share of packets; a partition heal keeps it; healLoss restores', { skip: problem, timeout: 60_000 }, async () => {
  const lab = createNetLab(2, '10.213.251');
  try {
    assert.equal(await delivered(lab.exec, lab.ip(1), 400), 400);
    lab.loss([1], 50);
    lab.partition([0], [1]);
    lab.heal();
    const half = await delivered(lab.exec, lab.ip(1), 400);
    assert.ok(half > 120 && half < 280, `50 % loss delivered ${half} of 400`);
    lab.healLoss();
    assert.equal(await delivered(lab.exec, lab.ip(1), 400), 400);
  } finally {
    lab.destroy();
  }
});
