// The admin API's public surface: the listener factory and what it needs from the node.
export { createAdminServer } from './server.ts';
export type { AdminDeps, NodeRole } from './context.ts';
