// Test helper: an admin API on 127.0.0.1:0 over a real Store in a temp dir, with a synthetic config.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseConfig, type Config } from '../../config/config.ts';
import { Store } from '../../model/store.ts';
import { createAdminServer } from './server.ts';

export const ADMIN_TOKEN = 'test-admin-token';
export const METRICS_TOKEN = 'test-metrics-token';

export interface TestAdmin {
  url: string;
  store: Store;
  config: Config;
  close(): Promise<void>;
}

/** `extra` is appended to the config (e.g. a [limits] section). */
export async function startTestAdmin(tokens: { admin?: string | null; metrics?: string | null } = {}, extra = ''): Promise<TestAdmin> {
  const dir = mkdtempSync(join(tmpdir(), 'grenier-admin-'));
  const admin = tokens.admin === undefined ? ADMIN_TOKEN : tokens.admin;
  const metrics = tokens.metrics === undefined ? METRICS_TOKEN : tokens.metrics;
  const config = parseConfig(
    `metadata_dir = "meta"
data_dir = "data"
replication_factor = 1
rpc_secret = "${'ab'.repeat(32)}"
[admin]
api_bind_addr = "127.0.0.1:0"
${admin ? `admin_token = "${admin}"` : ''}
${metrics ? `metrics_token = "${metrics}"` : ''}
${extra}
`,
    dir,
  );
  const store = new Store({
    metadataDir: config.metadata_dir,
    dataDir: config.data_dir,
    blockSize: config.block_size,
    compression: 'none',
    dataFsync: false,
    metadataFsync: false,
    inlineThreshold: config.inline_threshold,
  });
  const server = createAdminServer({ store, config, nodeId: 'a'.repeat(64), startedAt: Date.now() - 5000, version: '0.1.0-test' });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    config,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
