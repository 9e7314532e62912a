// Min-cost max-flow on a small integer graph, used by the partition assignment to find a
// valid placement that keeps as many previous replicas as possible (cost = replicas moved).
// Successive shortest paths with a queue-based Bellman-Ford, so negative residual costs are fine.

export class FlowGraph {
  readonly size: number;
  private readonly head: Int32Array;
  private readonly nextEdge: number[] = [];
  private readonly to: number[] = [];
  private readonly cap: number[] = [];
  private readonly cost: number[] = [];

  constructor(vertices: number) {
    this.size = vertices;
    this.head = new Int32Array(vertices).fill(-1);
  }

  /** Adds u→v and its residual twin; returns the forward edge's index (twin = index ^ 1). */
  addEdge(u: number, v: number, capacity: number, cost: number): number {
    const e = this.to.length;
    this.push(u, v, capacity, cost);
    this.push(v, u, 0, -cost);
    return e;
  }

  private push(u: number, v: number, capacity: number, cost: number): void {
    this.to.push(v);
    this.cap.push(capacity);
    this.cost.push(cost);
    this.nextEdge.push(this.head[u]!);
    this.head[u] = this.to.length - 1;
  }

  /** Units currently flowing on a forward edge. */
  flowOn(e: number): number {
    return this.cap[e ^ 1]!;
  }

  residual(e: number): number {
    return this.cap[e]!;
  }

  /** Pushes `amount` along a path of forward edges chosen by the caller (used to pre-seed
   *  flow greedily; the caller guarantees the result is still min-cost for its value). */
  pushPath(edges: number[], amount = 1): void {
    for (const e of edges) {
      if (this.cap[e]! < amount) throw new Error('flow: pushPath over a saturated edge');
    }
    for (const e of edges) {
      this.cap[e] = this.cap[e]! - amount;
      this.cap[e ^ 1] = this.cap[e ^ 1]! + amount;
    }
  }

  /** Augments along cheapest paths until `limit` units flow from s to t or no path is left.
   *  Requires the current flow to be min-cost for its value (true from zero flow). */
  minCostFlow(s: number, t: number, limit = Infinity): { flow: number; cost: number } {
    const n = this.size;
    const dist = new Float64Array(n);
    const parent = new Int32Array(n);
    const inQueue = new Uint8Array(n);
    const queue = new Int32Array(n + 1);
    let flow = 0;
    let totalCost = 0;
    while (flow < limit) {
      dist.fill(Infinity);
      parent.fill(-1);
      dist[s] = 0;
      let qh = 0;
      let qt = 0;
      queue[qt++] = s;
      inQueue[s] = 1;
      while (qh !== qt) {
        const u = queue[qh]!;
        qh = qh + 1 === queue.length ? 0 : qh + 1;
        inQueue[u] = 0;
        const du = dist[u]!;
        for (let e = this.head[u]!; e !== -1; e = this.nextEdge[e]!) {
          if (this.cap[e]! <= 0) continue;
          const v = this.to[e]!;
          const nd = du + this.cost[e]!;
          if (nd < dist[v]!) {
            dist[v] = nd;
            parent[v] = e;
            if (!inQueue[v]) {
              inQueue[v] = 1;
              queue[qt] = v;
              qt = qt + 1 === queue.length ? 0 : qt + 1;
            }
          }
        }
      }
      if (dist[t] === Infinity) break;
      let amount = limit - flow;
      for (let v = t; v !== s; v = this.to[parent[v]! ^ 1]!) amount = Math.min(amount, this.cap[parent[v]!]!);
      for (let v = t; v !== s; v = this.to[parent[v]! ^ 1]!) {
        const e = parent[v]!;
        this.cap[e] = this.cap[e]! - amount;
        this.cap[e ^ 1] = this.cap[e ^ 1]! + amount;
      }
      flow += amount;
      totalCost += amount * dist[t]!;
    }
    return { flow, cost: totalCost };
  }
}
