// A small lab network for partition tests (root only): one network namespace per node, all on a
// bridge inside a hub namespace, plus a veth from the test's namespace so it can reach every node;
// partitions are nftables drop rules (bridge family) in the hub, healed by flushing them.
import { execFileSync } from 'node:child_process';

const SUBNET = '10.213.77';

function sh(args: string[], ns?: string): string {
  const argv = ns ? ['netns', 'exec', ns, ...args] : args.slice(1);
  const cmd = ns ? 'ip' : args[0]!;
  try {
    return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).toString();
  } catch (e) {
    const err = e as Error & { stderr?: Buffer };
    throw new Error(`${ns ? `[netns ${ns}] ` : ''}${args.join(' ')}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** Why the lab cannot be built here, or undefined when it can. */
export function netnsProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN)';
  const probe = `grprobe${process.pid % 100000}`;
  try {
    sh(['ip', 'netns', 'add', probe]);
  } catch (e) {
    return `ip netns add fails: ${(e as Error).message}`;
  }
  try {
    sh(['nft', 'list', 'tables'], probe);
  } catch (e) {
    return `nft does not work in a namespace: ${(e as Error).message}`;
  } finally {
    try {
      sh(['ip', 'netns', 'del', probe]);
    } catch {
      /* best effort */
    }
  }
  return undefined;
}

export interface NetLab {
  /** IP address of node i inside its namespace. */
  ip(i: number): string;
  /** Name of node i's namespace. */
  ns(i: number): string;
  /** Command prefix that runs a process in node i's namespace. */
  exec(i: number): string[];
  /** Drops every packet between each node of `a` and each node of `b` (both ways). */
  partition(a: number[], b: number[]): void;
  /** Removes every partition rule. */
  heal(): void;
  /** Drops `percent` % of the packets to and from each of `nodes` at random (nftables numgen),
   *  in a chain of its own so that healing a partition leaves it in place. */
  loss(nodes: number[], percent: number): void;
  /** Removes every packet-loss rule. */
  healLoss(): void;
  /** Deletes the namespaces and the veth of the test's namespace. */
  destroy(): void;
}

/** Builds namespaces for `n` nodes. Names are tagged with the pid so parallel runs do not clash;
 *  two labs alive at once (parallel test files) need different `subnet`s (first three octets). */
export function createNetLab(n: number, subnet = SUBNET): NetLab {
  const tag = `gr${process.pid % 100000}`;
  const hub = `${tag}hub`;
  const rootIf = `${tag}r`;
  const nsName = (i: number) => `${tag}n${i}`;
  const ip = (i: number) => `${subnet}.${10 + i}`;
  const created: string[] = [];
  const destroy = () => {
    for (const ns of created.reverse()) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    try {
      sh(['ip', 'link', 'del', rootIf]);
    } catch {
      /* went with the hub */
    }
  };
  try {
    sh(['ip', 'netns', 'add', hub]);
    created.push(hub);
    sh(['ip', 'link', 'add', 'br0', 'type', 'bridge'], hub);
    sh(['ip', 'link', 'set', 'br0', 'up'], hub);
    sh(['ip', 'link', 'set', 'lo', 'up'], hub);
    // The test's own leg into the lab.
    sh(['ip', 'link', 'add', rootIf, 'type', 'veth', 'peer', 'name', 'up0', 'netns', hub]);
    sh(['ip', 'addr', 'add', `${subnet}.1/24`, 'dev', rootIf]);
    sh(['ip', 'link', 'set', rootIf, 'up']);
    sh(['ip', 'link', 'set', 'up0', 'master', 'br0'], hub);
    sh(['ip', 'link', 'set', 'up0', 'up'], hub);
    for (let i = 0; i < n; i++) {
      const ns = nsName(i);
      sh(['ip', 'netns', 'add', ns]);
      created.push(ns);
      sh(['ip', 'link', 'set', 'lo', 'up'], ns);
      sh(['ip', 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns], hub);
      sh(['ip', 'link', 'set', `v${i}`, 'master', 'br0'], hub);
      sh(['ip', 'link', 'set', `v${i}`, 'up'], hub);
      sh(['ip', 'addr', 'add', `${ip(i)}/24`, 'dev', 'eth0'], ns);
      sh(['ip', 'link', 'set', 'eth0', 'up'], ns);
    }
    sh(['nft', 'add', 'table', 'bridge', 'grpart'], hub);
    sh(['nft', 'add', 'chain', 'bridge', 'grpart', 'grfwd', '{ type filter hook forward priority 0 ; policy accept ; }'], hub);
    sh(['nft', 'add', 'chain', 'bridge', 'grpart', 'grloss', '{ type filter hook forward priority 1 ; policy accept ; }'], hub);
  } catch (e) {
    destroy();
    throw e;
  }
  process.once('exit', destroy);
  return {
    ip,
    ns: nsName,
    exec: (i) => ['ip', 'netns', 'exec', nsName(i)],
    partition(a, b) {
      for (const x of a)
        for (const y of b) {
          sh(['nft', 'add', 'rule', 'bridge', 'grpart', 'grfwd', 'ip', 'saddr', ip(x), 'ip', 'daddr', ip(y), 'drop'], hub);
          sh(['nft', 'add', 'rule', 'bridge', 'grpart', 'grfwd', 'ip', 'saddr', ip(y), 'ip', 'daddr', ip(x), 'drop'], hub);
        }
    },
    heal() {
      sh(['nft', 'flush', 'chain', 'bridge', 'grpart', 'grfwd'], hub);
    },
    loss(nodes, percent) {
      if (!(Number.isInteger(percent) && percent >= 0 && percent <= 100)) throw new Error(`loss: percent ${percent} is not an integer in [0, 100]`);
      for (const x of nodes)
        for (const dir of ['saddr', 'daddr'])
          sh(['nft', 'add', 'rule', 'bridge', 'grpart', 'grloss', 'ip', dir, ip(x), 'numgen', 'random', 'mod', '100', '<', String(percent), 'drop'], hub);
    },
    healLoss() {
      sh(['nft', 'flush', 'chain', 'bridge', 'grpart', 'grloss'], hub);
    },
    destroy,
  };
}
