// The embedded single-node dev config that `npm start` writes on first run and reuses after.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomHex } from '../util/hash.ts';

export function devConfigText(): string {
  return `# Grenier single-node development config, written on first start. Edit freely.
metadata_dir = "meta"
data_dir = "blocks"
replication_factor = 1
consistency_mode = "consistent"
rpc_bind_addr = "127.0.0.1:3901"
rpc_secret = "${randomHex(32)}"
compression_level = 1

[s3_api]
api_bind_addr = "127.0.0.1:3900"
s3_region = "garage"
root_domain = ".s3.localhost"

[s3_web]
bind_addr = "127.0.0.1:3902"
root_domain = ".web.localhost"
index = "index.html"

[admin]
api_bind_addr = "127.0.0.1:3903"
admin_token = "${randomHex(24)}"
metrics_token = "${randomHex(24)}"
`;
}

/** Returns the path of ./data/grenier.toml, creating it with fresh secrets if absent. */
export function ensureDevConfig(dir: string): { path: string; created: boolean } {
  const path = join(dir, 'grenier.toml');
  if (existsSync(path)) return { path, created: false };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, devConfigText(), { mode: 0o600 });
  return { path, created: true };
}
