// Property-based fuzzing of the admin API's JSON bodies and query parameters, with the admin token,
// against every operation of a live in-process admin server: answers are 2xx or 4xx (503 when a
// cluster part is absent), errors are JSON {code, message}, and the server keeps answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ADMIN_TOKEN, startTestAdmin } from './testkit.ts';
import { CLUSTER_OPS } from './cluster.ts';
import { LAYOUT_OPS } from './layout.ts';
import { WORKER_OPS } from './workers.ts';
import { KEY_OPS } from './key.ts';
import { BUCKET_OPS } from './bucket.ts';
import { ROUTE_OPS } from './route.ts';
import { CERT_OPS } from './cert.ts';
import { UPLOAD_OPS } from './uploads.ts';
import { SITE_OPS } from './site.ts';

const RUNS = Math.max(30, Math.floor(Number(process.env.GRENIER_FUZZ_RUNS ?? 300) / 2));

const OP_NAMES = [
  ...new Set([
    ...Object.keys({ ...CLUSTER_OPS, ...LAYOUT_OPS, ...WORKER_OPS, ...KEY_OPS, ...BUCKET_OPS, ...ROUTE_OPS, ...CERT_OPS, ...UPLOAD_OPS, ...SITE_OPS }),
    'constructor', 'toString', '__proto__', 'hasOwnProperty', 'NoSuchOp',
  ]),
];
// Field names the handlers read, so values of every type reach past the first check.
const FIELDS = [
  'id', 'name', 'accessKeyId', 'secretAccessKey', 'bucketId', 'globalAlias', 'localAlias', 'globalAliases', 'host', 'domain',
  'permissions', 'quotas', 'maxSize', 'maxObjects', 'websiteAccess', 'websiteConfig', 'roles', 'version', 'parameters',
  'repairType', 'olderThanSecs', 'files', 'items', 'nodes', 'partitions', 'upstreams', 'site', 'path', 'sha', 'bytes',
  'allow', 'deny', 'zone', 'capacity', 'tags', 'remove', 'indexDocument', 'errorDocument', 'enabled', 'keys', '__proto__', 'constructor',
];
const nasty = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 2 ** 53 + 1, '', ' ', '..', '../../etc/passwd', '\u0000', 'GK' + '0'.repeat(24), 'a'.repeat(5000)),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
);
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, nasty, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...FIELDS), tie('v'), { maxKeys: 4 })),
})).v;
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 100 }),
  fc.constantFrom('', '{', '[', 'null', '{"__proto__":{"admin":true}}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', '{"a":' .repeat(5000)),
);
const query = fc.array(fc.tuple(fc.constantFrom('id', 'search', 'showSecretKey', 'site', 'domain', 'host', 'path', 'node', 'state', 'x'), fc.oneof(nasty.map(String), fc.string({ maxLength: 20 }))), { maxLength: 3 })
  .map((ps) => new URLSearchParams(ps).toString());

/** Reads are GET (Get*, List*, the site ops that say so), everything else POST: most cases
 *  should get past the method check to the body parser and the handler. */
const rightMethod = (op: string): string =>
  (Object.hasOwn(SITE_OPS, op) ? SITE_OPS[op]!.method : /^(Get|List)/.test(op) ? 'GET' : 'POST');
const methodChoice = fc.oneof({ weight: 6, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD') });

test('fuzz: admin JSON bodies and queries on every operation: 2xx/4xx/503 only, errors in JSON', async () => {
  const admin = await startTestAdmin();
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...OP_NAMES), methodChoice, body, query, fc.nat({ max: 9 }), async (op, pick, b, q, tokenDie) => {
        const method = pick === 'right' ? rightMethod(op) : pick;
        const token = tokenDie > 0;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (token) headers.authorization = `Bearer ${ADMIN_TOKEN}`;
        const r = await fetch(`${admin.url}/v2/${op}${q ? `?${q}` : ''}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : b });
        const text = await r.text();
        const ok = (r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500) || r.status === 503;
        assert.ok(ok, `${method} ${op}?${q} ${b.slice(0, 200)} -> ${r.status} ${text.slice(0, 300)}`);
        if (r.status >= 400 && method !== 'HEAD') {
          assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${op}: ${r.status} not JSON`);
          const err = JSON.parse(text) as { code?: unknown; message?: unknown };
          assert.equal(typeof err.code, 'string', `${op}: ${text.slice(0, 200)}`);
          assert.equal(typeof err.message, 'string');
        }
      }),
      { numRuns: RUNS },
    );
    const h = await fetch(`${admin.url}/health`);
    assert.equal(h.status, 200);
  } finally {
    await admin.close();
  }
});
