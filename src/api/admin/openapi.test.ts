// The OpenAPI document against the router: every operation the server answers is documented with
// its methods and every documented one is answered (and refuses the other method with 405).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestAdmin, type TestAdmin } from './testkit.ts';
import { operationTable } from './server.ts';
import { methodsOf, OPERATIONS } from './openapi.ts';

let t: TestAdmin;
before(async () => {
  t = await startTestAdmin();
});
after(async () => {
  await t.close();
});

test('the document lists exactly the router operations, with the same methods', () => {
  const router = Object.fromEntries(operationTable().map((o) => [o.name, o.methods.join(',')]));
  const doc = Object.fromEntries(Object.entries(OPERATIONS).map(([n, d]) => [n, methodsOf(d).join(',')]));
  assert.deepEqual(Object.keys(doc).filter((n) => !(n in router)), [], 'documented but not routed');
  assert.deepEqual(Object.keys(router).filter((n) => !(n in doc)), [], 'routed but not documented');
  assert.deepEqual(doc, router);
});

test('GET /v2/openapi.json needs no token and describes every path', async () => {
  const r = await fetch(`${t.url}/v2/openapi.json`);
  assert.equal(r.status, 200);
  const d: any = await r.json();
  assert.equal(d.openapi, '3.1.0');
  for (const [name, o] of Object.entries(OPERATIONS)) {
    const p = d.paths[`/v2/${name}`];
    assert.ok(p, name);
    assert.deepEqual(Object.keys(p).sort(), methodsOf(o).map((m) => m.toLowerCase()).sort(), name);
    for (const m of Object.values(p) as any[]) assert.equal(m.operationId, name);
  }
  assert.ok(d.paths['/health'] && d.paths['/check'] && d.paths['/metrics']);
  assert.equal((await fetch(`${t.url}/v2/openapi.json`, { method: 'POST' })).status, 405);
});

test('every documented operation is answered on its method and refuses another with 405', async () => {
  for (const [name, o] of Object.entries(OPERATIONS)) {
    const ms = methodsOf(o);
    const r = await fetch(`${t.url}/v2/${name}`, { method: ms[0], headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: ms[0] === 'GET' ? undefined : '{}' });
    await r.text();
    assert.ok(r.status !== 404 && r.status !== 405, `${ms[0]} ${name} → ${r.status}`);
    const other = ms.includes('POST') ? (ms.includes('GET') ? 'PUT' : 'GET') : 'POST';
    const w = await fetch(`${t.url}/v2/${name}`, { method: other, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: other === 'GET' ? undefined : '{}' });
    await w.text();
    assert.equal(w.status, 405, `${other} ${name}`);
  }
});
