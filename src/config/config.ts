// TOML configuration: parsing, validation with messages naming the key, defaults.
// Key names follow Garage's where the concept is the same, so Garage operators feel at home.
import { parse } from 'smol-toml';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GrenierError } from '../util/errors.ts';

export type ConsistencyMode = 'consistent' | 'degraded' | 'dangerous';

export interface Config {
  metadata_dir: string;
  data_dir: string;
  /** Garage's name: a duration ("6h", "1d"); a snapshot of the metadata is taken that often. Off when absent. */
  metadata_auto_snapshot_interval?: string;
  /** Where snapshots go (Garage's default: <metadata_dir>/snapshots); better on another disk. */
  metadata_snapshots_dir: string;
  /** Snapshots kept; older ones are deleted after each new one. */
  metadata_snapshots_keep: number;
  replication_factor: number;
  consistency_mode: ConsistencyMode;
  rpc_bind_addr: string;
  rpc_public_addr?: string;
  rpc_secret: string;
  /** Where rpc_secret was read from (Garage's name); the file must not be readable by group or others. */
  rpc_secret_file?: string;
  bootstrap_peers: string[];
  block_size: number;
  compression_level: number | 'none';
  data_fsync: boolean;
  metadata_fsync: boolean;
  inline_threshold: number;
  anti_entropy_interval_secs: number;
  resync_interval_secs: number;
  /** Full block sweep (every referenced and stored block through the resync queue); the queue does the rest. */
  resync_sweep_interval_secs: number;
  scrub_interval_secs: number;
  /** How often the lifecycle worker applies each bucket's lifecycle rules (S3: once a day). */
  lifecycle_interval_secs: number;
  block_gc_delay_secs: number;
  rpc_ping_interval_secs: number;
  rpc_timeout_secs: number;
  block_ram_buffer_max: number;
  s3_api: { api_bind_addr: string; s3_region: string; root_domain?: string; sse_c_over_http: boolean };
  s3_web: { bind_addr: string; root_domain?: string; index: string; micro_cache_secs: number };
  admin: { api_bind_addr: string; admin_token?: string; metrics_token?: string; admin_token_file?: string; metrics_token_file?: string };
  /** Limits on what clients and peers may send (SECURITY.md lists each with its default). */
  limits: LimitsConfig;
  /** The HTTPS front (ARCHITECTURE §8); absent unless the config has a [front] section. */
  front?: FrontConfig;
}

export interface FrontConfig {
  http_bind_addr: string;
  https_bind_addr: string;
  acme_directory: string;
  acme_email?: string;
  /** Extra CA (PEM file) trusted for the ACME directory: a private CA, or pebble in tests. */
  acme_ca_cert?: string;
  /** Order certificates for route hosts and domain-name website aliases without being asked. */
  auto_certificates: boolean;
  renew_before_days: number;
  cert_check_interval_secs: number;
  health_check_interval_secs: number;
  /** Time to open a TCP connection to an upstream. */
  upstream_connect_timeout_secs: number;
  /** Time from the request sent to the upstream's response headers. */
  upstream_response_timeout_secs: number;
  /** A proxied exchange with no byte either way for this long is cut. */
  upstream_idle_timeout_secs: number;
  /** Sockets to one upstream, in use or pooled. */
  upstream_sockets_max: number;
  /** Requests in flight from one client address to one upstream (so one client cannot take all sockets). */
  upstream_requests_per_client_max: number;
  /** Time for an upstream to answer an Upgrade (WebSocket) request. */
  upgrade_timeout_secs: number;
  /** A WebSocket tunnel with no byte either way for this long is closed. */
  websocket_idle_timeout_secs: number;
  /** Time for a client to complete the TLS handshake on the HTTPS port. */
  tls_handshake_timeout_secs: number;
  /** Certificate orders the whole cluster starts per hour, counted from the replicated certificate table (below Let's Encrypt's limits). */
  cert_orders_per_hour_max: number;
}

export interface LimitsConfig {
  /** Time for a client to send the request line and headers. */
  http_headers_timeout_secs: number;
  /** A connection with no byte either way for this long is closed (slow bodies, stuck clients). */
  http_idle_timeout_secs: number;
  /** Time an idle keep-alive connection is kept between requests. */
  http_keepalive_timeout_secs: number;
  /** Open connections per listener (S3, web, admin, front HTTP, front HTTPS). */
  http_connections_max: number;
  /** Open connections per client address per listener. */
  http_connections_per_ip_max: number;
  /** JSON bodies (admin API) are refused above this size, before parsing. */
  json_body_bytes_max: number;
  /** A site deploy manifest (PublishSiteDeploy), read only once the caller is known to manage the site. */
  manifest_body_bytes_max: number;
  /** JSON bodies (admin API) held in memory at once over all requests; more wait for a 503 retry. */
  json_bodies_in_flight_bytes_max: number;
  /** Failed admin-token or owner-signature attempts per client address per minute; more get 429. */
  login_failures_per_minute_max: number;
  /** XML bodies (S3 configuration, multi-delete, complete-multipart) are refused above this size. */
  xml_body_bytes_max: number;
  /** A single object (PUT, POST, copy, complete multipart) may not exceed this size. */
  object_bytes_max: number;
  /** Incomplete multipart uploads of website buckets are aborted after this long (0 = never). */
  site_incomplete_upload_expiry_secs: number;
  /** Incomplete multipart uploads of other buckets are aborted after this long (0 = never). */
  bucket_incomplete_upload_expiry_secs: number;
  /** Time for a peer to complete the TLS handshake and node-key proof on the RPC port. */
  rpc_handshake_timeout_secs: number;
  /** RPC connections still in their handshake, over all addresses. */
  rpc_pending_handshakes_max: number;
  /** RPC connections (pending or established) from one address. */
  rpc_connections_per_ip_max: number;
  /** One RPC frame (a message or a block piece) may not exceed this size. */
  rpc_message_bytes_max: number;
  /** Peer addresses learned by gossip and kept for dialling. */
  rpc_known_peers_max: number;
  /** Metadata writes (table entries) that share one group commit at most. */
  metadata_commit_writes_max: number;
  /** Bytes (as estimated by the writers) one group commit holds at most. */
  metadata_commit_bytes_max: number;
  /** Time the first write of a group commit waits for others to join (0: the end of the event-loop turn). */
  metadata_commit_wait_ms: number;
  /** Block buffers that uploads hand to the block store at once, over all uploads (at least one block). */
  block_writes_in_flight_bytes_max: number;
  /** Hashing worker threads (block SHA-256, large bodies' MD5/SHA-256); -1 = cores - 1 (at least 1), 0 = all inline. */
  hash_workers: number;
  /** Hash jobs queued or running in the workers at most; past it new work is hashed on the main thread. */
  hash_queue_max: number;
}

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

type Spec = Record<string, { type: 'string' | 'int' | 'bool' | 'strings' | 'level'; required?: boolean; default?: unknown; /** Smallest int (default 0). */ min?: number }>;

const TOP: Spec = {
  metadata_dir: { type: 'string', required: true },
  data_dir: { type: 'string', required: true },
  metadata_auto_snapshot_interval: { type: 'string' },
  metadata_snapshots_dir: { type: 'string' },
  metadata_snapshots_keep: { type: 'int', default: 2 },
  replication_factor: { type: 'int', default: 3 },
  consistency_mode: { type: 'string', default: 'consistent' },
  rpc_bind_addr: { type: 'string', default: '[::]:3901' },
  rpc_public_addr: { type: 'string' },
  // Required, but may come from rpc_secret_file or the environment (resolveSecrets).
  rpc_secret: { type: 'string' },
  rpc_secret_file: { type: 'string' },
  bootstrap_peers: { type: 'strings', default: [] },
  block_size: { type: 'int', default: 1024 * 1024 },
  compression_level: { type: 'level', default: 1 },
  data_fsync: { type: 'bool', default: false },
  metadata_fsync: { type: 'bool', default: true },
  inline_threshold: { type: 'int', default: 3072 },
  anti_entropy_interval_secs: { type: 'int', default: 600 },
  resync_interval_secs: { type: 'int', default: 60 },
  resync_sweep_interval_secs: { type: 'int', default: 86400 },
  scrub_interval_secs: { type: 'int', default: 7 * 86400 },
  lifecycle_interval_secs: { type: 'int', default: 86400 },
  block_gc_delay_secs: { type: 'int', default: 600 },
  rpc_ping_interval_secs: { type: 'int', default: 10 },
  rpc_timeout_secs: { type: 'int', default: 30 },
  block_ram_buffer_max: { type: 'int', default: 64 * 1024 * 1024 },
};
const SECTIONS: Record<string, Spec> = {
  s3_api: {
    api_bind_addr: { type: 'string', default: '[::]:3900' },
    s3_region: { type: 'string', default: 'garage' },
    root_domain: { type: 'string' },
    sse_c_over_http: { type: 'bool', default: false },
  },
  s3_web: {
    bind_addr: { type: 'string', default: '[::]:3902' },
    root_domain: { type: 'string' },
    index: { type: 'string', default: 'index.html' },
    micro_cache_secs: { type: 'int', default: 5 },
  },
  admin: {
    api_bind_addr: { type: 'string', default: '[::]:3903' },
    admin_token: { type: 'string' },
    metrics_token: { type: 'string' },
    admin_token_file: { type: 'string' },
    metrics_token_file: { type: 'string' },
  },
  front: {
    http_bind_addr: { type: 'string', default: '[::]:80' },
    https_bind_addr: { type: 'string', default: '[::]:443' },
    acme_directory: { type: 'string', default: LETS_ENCRYPT_DIRECTORY },
    acme_email: { type: 'string' },
    acme_ca_cert: { type: 'string' },
    auto_certificates: { type: 'bool', default: true },
    renew_before_days: { type: 'int', default: 30 },
    cert_check_interval_secs: { type: 'int', default: 3600 },
    health_check_interval_secs: { type: 'int', default: 10 },
    upstream_connect_timeout_secs: { type: 'int', default: 5 },
    upstream_response_timeout_secs: { type: 'int', default: 60 },
    upstream_idle_timeout_secs: { type: 'int', default: 120 },
    upstream_sockets_max: { type: 'int', default: 256 },
    upstream_requests_per_client_max: { type: 'int', default: 32 },
    upgrade_timeout_secs: { type: 'int', default: 10 },
    websocket_idle_timeout_secs: { type: 'int', default: 600 },
    tls_handshake_timeout_secs: { type: 'int', default: 10 },
    cert_orders_per_hour_max: { type: 'int', default: 20 },
  },
  limits: {
    http_headers_timeout_secs: { type: 'int', default: 20 },
    http_idle_timeout_secs: { type: 'int', default: 60 },
    http_keepalive_timeout_secs: { type: 'int', default: 65 },
    http_connections_max: { type: 'int', default: 1024 },
    http_connections_per_ip_max: { type: 'int', default: 256 },
    json_body_bytes_max: { type: 'int', default: 1024 * 1024 },
    manifest_body_bytes_max: { type: 'int', default: 16 * 1024 * 1024 },
    json_bodies_in_flight_bytes_max: { type: 'int', default: 32 * 1024 * 1024 },
    login_failures_per_minute_max: { type: 'int', default: 10 },
    xml_body_bytes_max: { type: 'int', default: 1024 * 1024 },
    object_bytes_max: { type: 'int', default: 5 * 1024 ** 3 },
    site_incomplete_upload_expiry_secs: { type: 'int', default: 7 * 86400 },
    bucket_incomplete_upload_expiry_secs: { type: 'int', default: 0 },
    rpc_handshake_timeout_secs: { type: 'int', default: 10 },
    rpc_pending_handshakes_max: { type: 'int', default: 64 },
    rpc_connections_per_ip_max: { type: 'int', default: 16 },
    rpc_message_bytes_max: { type: 'int', default: 16 * 1024 * 1024 },
    rpc_known_peers_max: { type: 'int', default: 256 },
    metadata_commit_writes_max: { type: 'int', default: 1000 },
    metadata_commit_bytes_max: { type: 'int', default: 4 * 1024 * 1024 },
    metadata_commit_wait_ms: { type: 'int', default: 0 },
    block_writes_in_flight_bytes_max: { type: 'int', default: 8 * 1024 * 1024 },
    hash_workers: { type: 'int', default: -1, min: -1 },
    hash_queue_max: { type: 'int', default: 64 },
  },
};

/** Every config key by section ('' = top level), with its type and default: docs/config.md is checked against it. */
export const CONFIG_SPEC: Readonly<Record<string, Spec>> = { '': TOP, ...SECTIONS };

/** The limits of a config, filled with their defaults (for parts built without a whole Config, as in tests). */
export function defaultLimits(partial: Partial<LimitsConfig> = {}): LimitsConfig {
  return { ...(check(SECTIONS.limits!, {}, 'limits.') as unknown as LimitsConfig), ...partial };
}

function bad(key: string, why: string): never {
  throw new GrenierError('BadConfig', `config: ${key}: ${why}`);
}

function check(spec: Spec, input: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(input)) {
    if (!(k in spec)) bad(prefix + k, 'unknown key');
  }
  for (const [k, s] of Object.entries(spec)) {
    const name = prefix + k;
    const v = input[k];
    if (v === undefined) {
      if (s.required) bad(name, 'missing (required)');
      if (s.default !== undefined) out[k] = s.default;
      continue;
    }
    switch (s.type) {
      case 'string':
        if (typeof v !== 'string' || v === '') bad(name, `expected a non-empty string, got ${JSON.stringify(v)}`);
        break;
      case 'int':
        if (typeof v !== 'number' && typeof v !== 'bigint') bad(name, `expected an integer, got ${JSON.stringify(v)}`);
        if (!Number.isSafeInteger(Number(v)) || Number(v) < (s.min ?? 0)) bad(name, s.min === undefined ? `expected a non-negative integer, got ${v}` : `expected an integer of at least ${s.min}, got ${v}`);
        out[k] = Number(v);
        continue;
      case 'bool':
        if (typeof v !== 'boolean') bad(name, `expected true or false, got ${JSON.stringify(v)}`);
        break;
      case 'strings':
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(name, 'expected an array of strings');
        break;
      case 'level':
        if (v !== 'none' && !(typeof v === 'number' && Number.isInteger(v) && v >= -7 && v <= 22))
          bad(name, `expected "none" or a zstd level from -7 to 22, got ${JSON.stringify(v)}`);
        break;
    }
    out[k] = v;
  }
  return out;
}

const DURATION_UNITS: Record<string, number> = { s: 1, sec: 1, secs: 1, m: 60, min: 60, mins: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** "6h", "1d 12h", "90s", "15min" → seconds (undefined if it is not a duration). */
export function parseDurationSecs(text: string): number | undefined {
  if (text.length > 64) return undefined;
  const parts = text.trim().split(/\s+/);
  let total = 0;
  for (const p of parts) {
    const m = /^(\d{1,9})([a-z]+)$/.exec(p);
    const unit = m ? DURATION_UNITS[m[2]!] : undefined;
    if (!m || unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return total;
}

/** Checks a bind address is host:port with a valid port. */
function checkAddr(name: string, addr: string): void {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) > 65535) bad(name, `expected host:port, got ${JSON.stringify(addr)}`);
}

/** A secret file is small: a hex key or a token, never more. */
const SECRET_FILE_BYTES_MAX = 4096;

/** Reads a secret file: a regular file of at most SECRET_FILE_BYTES_MAX bytes, not readable or
 *  writable by group or others (as Garage); trailing whitespace (the newline of `echo`) dropped. */
function readSecretFile(key: string, path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return bad(key, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) bad(key, `${path} is not a regular file`);
    const mode = st.mode & 0o777;
    if (mode & 0o077)
      bad(key, `${path} is accessible by group or others (mode 0${mode.toString(8).padStart(3, '0')}); a secret file must be 0600: chmod 600 ${path}`);
    if (st.size > SECRET_FILE_BYTES_MAX) bad(key, `${path} has ${st.size} bytes; a secret file holds at most ${SECRET_FILE_BYTES_MAX} bytes`);
    const buf = Buffer.alloc(SECRET_FILE_BYTES_MAX + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > SECRET_FILE_BYTES_MAX) bad(key, `${path} has more than ${SECRET_FILE_BYTES_MAX} bytes; a secret file holds at most ${SECRET_FILE_BYTES_MAX} bytes`);
    const value = buf.subarray(0, n).toString('utf8').replace(/\s+$/, '');
    if (value === '') bad(key, `${path} is empty`);
    return value;
  } finally {
    closeSync(fd);
  }
}

/** Secrets inline, in a file (`<key>_file`) or in the environment (GRENIER_<KEY>, GRENIER_<KEY>_FILE),
 *  as Garage: the environment replaces the config; inline and file together is an error. */
function resolveSecrets(cfg: Config, env: NodeJS.ProcessEnv, baseDir: string): void {
  const slots = [
    { obj: cfg as unknown as Record<string, unknown>, prefix: '', key: 'rpc_secret', env: 'GRENIER_RPC_SECRET' },
    { obj: cfg.admin as Record<string, unknown>, prefix: 'admin.', key: 'admin_token', env: 'GRENIER_ADMIN_TOKEN' },
    { obj: cfg.admin as Record<string, unknown>, prefix: 'admin.', key: 'metrics_token', env: 'GRENIER_METRICS_TOKEN' },
  ];
  for (const s of slots) {
    const fileKey = `${s.key}_file`;
    const inline = s.obj[s.key] as string | undefined;
    const file = s.obj[fileKey] as string | undefined;
    if (inline !== undefined && file !== undefined) bad(s.prefix + fileKey, `set ${s.prefix}${s.key} or ${s.prefix}${fileKey}, not both`);
    const fromEnv = env[s.env] || undefined;
    const fromEnvFile = env[`${s.env}_FILE`] || undefined;
    if (fromEnv !== undefined && fromEnvFile !== undefined) bad(`${s.env}_FILE`, `set ${s.env} or ${s.env}_FILE, not both`);
    if (fromEnv !== undefined) s.obj[s.key] = fromEnv;
    else if (fromEnvFile !== undefined) s.obj[s.key] = readSecretFile(`${s.env}_FILE`, resolve(baseDir, fromEnvFile));
    else if (file !== undefined) {
      s.obj[fileKey] = resolve(baseDir, file);
      s.obj[s.key] = readSecretFile(s.prefix + fileKey, s.obj[fileKey] as string);
    }
  }
  if (cfg.rpc_secret === undefined) bad('rpc_secret', 'missing (required): set rpc_secret, rpc_secret_file or GRENIER_RPC_SECRET');
}

export function validateConfig(raw: Record<string, unknown>, baseDir = process.cwd(), env: NodeJS.ProcessEnv = process.env): Config {
  const topInput: Record<string, unknown> = {};
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k in SECTIONS) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(k, 'expected a [section]');
      sections[k] = v as Record<string, unknown>;
    } else topInput[k] = v;
  }
  const top = check(TOP, topInput, '');
  const cfg = { ...top } as unknown as Config;
  for (const [name, spec] of Object.entries(SECTIONS)) {
    (cfg as unknown as Record<string, unknown>)[name] = check(spec, sections[name] ?? {}, `${name}.`);
  }
  resolveSecrets(cfg, env, baseDir);
  if (!['consistent', 'degraded', 'dangerous'].includes(cfg.consistency_mode))
    bad('consistency_mode', `expected consistent, degraded or dangerous, got ${JSON.stringify(cfg.consistency_mode)}`);
  if (cfg.replication_factor < 1 || cfg.replication_factor > 7) bad('replication_factor', 'expected 1 to 7');
  if (cfg.metadata_auto_snapshot_interval !== undefined) {
    const secs = parseDurationSecs(cfg.metadata_auto_snapshot_interval);
    if (secs === undefined) bad('metadata_auto_snapshot_interval', `expected a duration like "6h", "1d" or "30min", got ${JSON.stringify(cfg.metadata_auto_snapshot_interval)}`);
    if (secs < 1) bad('metadata_auto_snapshot_interval', 'expected at least 1 s');
    if (secs > 366 * 86400) bad('metadata_auto_snapshot_interval', 'expected at most 366d');
  }
  if (cfg.metadata_snapshots_keep < 1 || cfg.metadata_snapshots_keep > 100) bad('metadata_snapshots_keep', 'expected 1 to 100');
  if (cfg.block_size < 64 * 1024 || cfg.block_size > 64 * 1024 * 1024) bad('block_size', 'expected 64 KiB to 64 MiB');
  if (!/^[0-9a-fA-F]{64}$/.test(cfg.rpc_secret)) bad('rpc_secret', 'expected 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`');
  checkAddr('rpc_bind_addr', cfg.rpc_bind_addr);
  checkAddr('s3_api.api_bind_addr', cfg.s3_api.api_bind_addr);
  checkAddr('s3_web.bind_addr', cfg.s3_web.bind_addr);
  checkAddr('admin.api_bind_addr', cfg.admin.api_bind_addr);
  checkLimits(cfg.limits);
  if (sections.front === undefined) delete cfg.front;
  else checkFront(cfg.front!, baseDir);
  cfg.metadata_dir = resolve(baseDir, cfg.metadata_dir);
  cfg.data_dir = resolve(baseDir, cfg.data_dir);
  cfg.metadata_snapshots_dir = cfg.metadata_snapshots_dir === undefined ? resolve(cfg.metadata_dir, 'snapshots') : resolve(baseDir, cfg.metadata_snapshots_dir);
  return cfg;
}

function checkLimits(l: LimitsConfig): void {
  for (const [k, v] of Object.entries(l)) {
    if (k === 'site_incomplete_upload_expiry_secs' || k === 'bucket_incomplete_upload_expiry_secs' || k === 'metadata_commit_wait_ms' || k === 'hash_workers') continue;
    if (v < 1) bad(`limits.${k}`, 'expected at least 1');
  }
  if (l.http_connections_per_ip_max > l.http_connections_max) bad('limits.http_connections_per_ip_max', 'must not exceed limits.http_connections_max');
  if (l.rpc_message_bytes_max < 2 * 1024 * 1024) bad('limits.rpc_message_bytes_max', 'expected at least 2 MiB (a block piece must fit)');
}

function checkFront(f: FrontConfig, baseDir: string): void {
  checkAddr('front.http_bind_addr', f.http_bind_addr);
  checkAddr('front.https_bind_addr', f.https_bind_addr);
  if (f.http_bind_addr === f.https_bind_addr && splitAddr(f.http_bind_addr).port !== 0) bad('front.https_bind_addr', 'must differ from front.http_bind_addr');
  let u: URL | undefined;
  try {
    u = new URL(f.acme_directory);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) bad('front.acme_directory', `expected an https:// URL, got ${JSON.stringify(f.acme_directory)}`);
  if (f.acme_email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(f.acme_email)) bad('front.acme_email', `expected an email address, got ${JSON.stringify(f.acme_email)}`);
  if (f.acme_ca_cert !== undefined) f.acme_ca_cert = resolve(baseDir, f.acme_ca_cert);
  if (f.renew_before_days < 1 || f.renew_before_days > 60) bad('front.renew_before_days', 'expected 1 to 60 (certificates from Let’s Encrypt last 90 days)');
  if (f.cert_check_interval_secs < 1) bad('front.cert_check_interval_secs', 'expected at least 1');
  if (f.health_check_interval_secs < 1) bad('front.health_check_interval_secs', 'expected at least 1');
  for (const k of ['upstream_connect_timeout_secs', 'upstream_response_timeout_secs', 'upstream_idle_timeout_secs', 'upstream_sockets_max', 'upstream_requests_per_client_max', 'upgrade_timeout_secs', 'websocket_idle_timeout_secs', 'tls_handshake_timeout_secs', 'cert_orders_per_hour_max'] as const)
    if (f[k] < 1) bad(`front.${k}`, 'expected at least 1');
}

export function parseConfig(text: string, baseDir?: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new GrenierError('BadConfig', `config: invalid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return validateConfig(raw, baseDir, env);
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GrenierError('BadConfig', `config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return parseConfig(text, dirname(resolve(path)), env);
}

/** "[::]:3900" → { host: '::', port: 3900 } */
export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(i + 1)) };
}
