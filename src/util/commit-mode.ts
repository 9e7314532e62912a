// Where Db.write commits: on lmdb-js's write thread (every node), or synchronously on the main
// thread — set only by the simulated network (rpc/sim.ts), which runs a cluster in one event loop
// on simulated time. A util-level switch so rpc/ need not import db/ (ARCHITECTURE §2 layers).

let mainThreadCommits = false;

/** Set by the simulated network (src/rpc/sim.ts), which expects a write to complete within the
 *  event-loop turns it lets pass: Db.write then commits on the main thread, synchronously, as
 *  before lmdb-js's write thread took the commits (and the event order stays the seeded one).
 *  Never set by a node. */
export function commitOnMainThread(on: boolean): void {
  mainThreadCommits = on;
}

export function commitsOnMainThread(): boolean {
  return mainThreadCommits;
}
