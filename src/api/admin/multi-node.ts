// Garage's multi-node admin operations (`?node=<id>|self|*`): the operation runs on each named node
// (on peers through the `admin/local` RPC endpoint) and answers {success: {id: …}, error: {id: msg}}.
// The body is checked where the request enters (a bad one is a 400, not one error per node) and
// again by every peer that runs it, as any peer payload.
import type { AdminDeps, Handler } from './context.ts';
import { AdminError, checkJsonShape } from './http.ts';
import { knownNodeIds, resolveNode } from './cluster.ts';
import { errorMessage } from '../../util/errors.ts';
import { Endpoint, obj, plain, str, type EndpointHost } from '../../rpc/schema.ts';

/** How long one peer may take to run its part (a purge of many blocks can be slow). */
const LOCAL_CALL_TIMEOUT_MS = 20_000;
/** Longest operation name carried over RPC. */
const OP_NAME_BYTES_MAX = 64;

export interface LocalOp<P> {
  /** Validates the request body (throws AdminError 400); runs on the receiving node and on each peer. */
  parse(body: Record<string, unknown>): P;
  /** This node's part of the answer. */
  run(deps: AdminDeps, p: P): Promise<unknown>;
  /** How long a peer may take to run its part (default LOCAL_CALL_TIMEOUT_MS). */
  timeoutMs?: number;
}

const LOCAL = new Map<string, LocalOp<unknown>>();

/** A multi-node handler for `name`; its local part also answers peers' `admin/local` calls. */
export function multiNode<P>(name: string, op: LocalOp<P>): Handler {
  LOCAL.set(name, op as LocalOp<unknown>);
  return async ({ deps, query, body }) => {
    const p = op.parse(body);
    const ids = targets(deps, query.get('node') ?? 'self');
    const success: Record<string, unknown> = {};
    const error: Record<string, string> = {};
    if ('error' in ids) return { success, error: { [ids.given]: ids.error } };
    await Promise.all(
      ids.nodes.map(async (id) => {
        try {
          if (id === deps.nodeId) success[id] = await op.run(deps, p);
          else success[id] = await localEndpoint(deps.cluster!.rpc).call(id, { op: name, body }, { timeoutMs: op.timeoutMs ?? LOCAL_CALL_TIMEOUT_MS, priority: 'high' });
        } catch (e) {
          error[id] = errorMessage(e);
        }
      }),
    );
    return { success, error };
  };
}

/** The nodes `?node=` names: self, one id (or unique prefix), or `*` (every node known). */
function targets(deps: AdminDeps, node: string): { nodes: string[] } | { given: string; error: string } {
  const c = deps.cluster;
  if (node === 'self' || node === deps.nodeId) return { nodes: [deps.nodeId] };
  if (!c) return node === '*' ? { nodes: [deps.nodeId] } : { given: node, error: 'unknown node (this cluster has a single node)' };
  if (node === '*') return { nodes: knownNodeIds(c) };
  try {
    return { nodes: [resolveNode(c, node)] };
  } catch (e) {
    return { given: node, error: errorMessage(e) };
  }
}

const localMsg = obj({ op: str(OP_NAME_BYTES_MAX), body: plain });

/** `admin/local`, typed once: an operation's name and body; the answer is that operation's own. */
function localEndpoint(rpc: EndpointHost): Endpoint<{ op: string; body: Record<string, unknown> }, unknown> {
  return new Endpoint(rpc, 'admin/local', localMsg);
}

/** Lets peers run this node's part of a multi-node operation (called once per node). */
export function registerLocalEndpoint(deps: AdminDeps): void {
  if (!deps.cluster) return;
  localEndpoint(deps.cluster.rpc).serve(async (_from, m) => {
    const op = LOCAL.get(m.op);
    if (!op) throw new AdminError(400, 'InvalidRequest', `no multi-node admin operation ${m.op}`);
    checkJsonShape(m.body);
    return op.run(deps, op.parse(m.body));
  });
}
