// TOML configuration: parsing, validation with messages naming the key, defaults.
// Key names follow Garage's where the concept is the same, so Garage operators feel at home.
import { parse } from 'smol-toml';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GrenierError } from '../util/errors.ts';

export type ConsistencyMode = 'consistent' | 'degraded' | 'dangerous';

export interface Config {
  metadata_dir: string;
  data_dir: string;
  replication_factor: number;
  consistency_mode: ConsistencyMode;
  rpc_bind_addr: string;
  rpc_public_addr?: string;
  rpc_secret: string;
  bootstrap_peers: string[];
  block_size: number;
  compression_level: number | 'none';
  data_fsync: boolean;
  metadata_fsync: boolean;
  inline_threshold: number;
  anti_entropy_interval_secs: number;
  resync_interval_secs: number;
  scrub_interval_secs: number;
  block_gc_delay_secs: number;
  rpc_ping_interval_secs: number;
  rpc_timeout_secs: number;
  block_ram_buffer_max: number;
  s3_api: { api_bind_addr: string; s3_region: string; root_domain?: string };
  s3_web: { bind_addr: string; root_domain?: string; index: string };
  admin: { api_bind_addr: string; admin_token?: string; metrics_token?: string };
}

type Spec = Record<string, { type: 'string' | 'int' | 'bool' | 'strings' | 'level'; required?: boolean; default?: unknown }>;

const TOP: Spec = {
  metadata_dir: { type: 'string', required: true },
  data_dir: { type: 'string', required: true },
  replication_factor: { type: 'int', default: 3 },
  consistency_mode: { type: 'string', default: 'consistent' },
  rpc_bind_addr: { type: 'string', default: '[::]:3901' },
  rpc_public_addr: { type: 'string' },
  rpc_secret: { type: 'string', required: true },
  bootstrap_peers: { type: 'strings', default: [] },
  block_size: { type: 'int', default: 1024 * 1024 },
  compression_level: { type: 'level', default: 1 },
  data_fsync: { type: 'bool', default: false },
  metadata_fsync: { type: 'bool', default: true },
  inline_threshold: { type: 'int', default: 3072 },
  anti_entropy_interval_secs: { type: 'int', default: 600 },
  resync_interval_secs: { type: 'int', default: 60 },
  scrub_interval_secs: { type: 'int', default: 7 * 86400 },
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
  },
  s3_web: {
    bind_addr: { type: 'string', default: '[::]:3902' },
    root_domain: { type: 'string' },
    index: { type: 'string', default: 'index.html' },
  },
  admin: {
    api_bind_addr: { type: 'string', default: '[::]:3903' },
    admin_token: { type: 'string' },
    metrics_token: { type: 'string' },
  },
};

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
        if (!Number.isSafeInteger(Number(v)) || Number(v) < 0) bad(name, `expected a non-negative integer, got ${v}`);
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

/** Checks a bind address is host:port with a valid port. */
function checkAddr(name: string, addr: string): void {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[2]) > 65535) bad(name, `expected host:port, got ${JSON.stringify(addr)}`);
}

export function validateConfig(raw: Record<string, unknown>, baseDir = process.cwd()): Config {
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
  if (!['consistent', 'degraded', 'dangerous'].includes(cfg.consistency_mode))
    bad('consistency_mode', `expected consistent, degraded or dangerous, got ${JSON.stringify(cfg.consistency_mode)}`);
  if (cfg.replication_factor < 1 || cfg.replication_factor > 7) bad('replication_factor', 'expected 1 to 7');
  if (cfg.block_size < 64 * 1024 || cfg.block_size > 64 * 1024 * 1024) bad('block_size', 'expected 64 KiB to 64 MiB');
  if (!/^[0-9a-fA-F]{64}$/.test(cfg.rpc_secret)) bad('rpc_secret', 'expected 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`');
  checkAddr('rpc_bind_addr', cfg.rpc_bind_addr);
  checkAddr('s3_api.api_bind_addr', cfg.s3_api.api_bind_addr);
  checkAddr('s3_web.bind_addr', cfg.s3_web.bind_addr);
  checkAddr('admin.api_bind_addr', cfg.admin.api_bind_addr);
  cfg.metadata_dir = resolve(baseDir, cfg.metadata_dir);
  cfg.data_dir = resolve(baseDir, cfg.data_dir);
  return cfg;
}

export function parseConfig(text: string, baseDir?: string): Config {
  let raw: Record<string, unknown>;
  try {
    raw = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new GrenierError('BadConfig', `config: invalid TOML: ${(e as Error).message.split('\n')[0]}`);
  }
  return validateConfig(raw, baseDir);
}

export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GrenierError('BadConfig', `config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return parseConfig(text, dirname(resolve(path)));
}

/** "[::]:3900" → { host: '::', port: 3900 } */
export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(addr.slice(i + 1)) };
}
