// Tests for the bucket CORS and website configuration operations and their XML validation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEnv, fakeCtx, type TestEnv } from './test-ctx.ts';
import {
  DeleteBucketCors,
  DeleteBucketWebsite,
  GetBucketCors,
  GetBucketWebsite,
  PutBucketCors,
  PutBucketWebsite,
  parseCorsConfig,
  parseWebsiteConfig,
} from './bucket-config.ts';
import type { Handler } from '../context.ts';
import { children, childText } from '../xml.ts';

let env: TestEnv;

before(async () => {
  env = await testEnv();
});
after(async () => {
  await env.close();
});

async function call(h: Handler, name: string, body?: string, perm = { read: true, write: true, owner: true }) {
  const bucket = await env.store.bucketByName(name);
  const { ctx, res } = fakeCtx(env, { bucket, bucketName: name, body, perm, method: body === undefined ? 'GET' : 'PUT' });
  await h(ctx);
  return res;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const CORS = `<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <ID>site</ID>
    <AllowedOrigin>https://*.example.org</AllowedOrigin>
    <AllowedOrigin>http://localhost:3000</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
</CORSConfiguration>`;

test('CORS configuration: put, get back the same rules, delete', async () => {
  await env.bucket('cors');
  assert.equal(await codeOf(call(GetBucketCors, 'cors')), 'NoSuchCORSConfiguration');
  const put = await call(PutBucketCors, 'cors', CORS);
  assert.equal(put.status, 200);
  const b = await env.store.bucketByName('cors');
  assert.deepEqual(b!.cors.v, [
    { id: 'site', allowedOrigins: ['https://*.example.org', 'http://localhost:3000'], allowedMethods: ['GET', 'PUT'], allowedHeaders: ['*'], exposeHeaders: ['ETag'], maxAgeSeconds: 3000 },
    { allowedOrigins: ['*'], allowedMethods: ['HEAD'], allowedHeaders: [], exposeHeaders: [] },
  ]);
  const got = await call(GetBucketCors, 'cors');
  assert.equal(got.status, 200);
  const x = got.xml();
  assert.equal(x.name, 'CORSConfiguration');
  // What GET returns parses back to the same rules (round trip).
  assert.deepEqual(parseCorsConfig(got.text()), b!.cors.v);
  assert.equal(childText(children(x, 'CORSRule')[0]!, 'MaxAgeSeconds'), '3000');
  const del = await call(DeleteBucketCors, 'cors');
  assert.equal(del.status, 204);
  assert.equal(await codeOf(call(GetBucketCors, 'cors')), 'NoSuchCORSConfiguration');
  // A later put wins over the delete even within the same millisecond (register timestamps advance).
  await call(PutBucketCors, 'cors', CORS);
  assert.equal((await env.store.bucketByName('cors'))!.cors.v!.length, 2);
});

test('CORS configuration validation', () => {
  const rule = (inner: string) => `<CORSConfiguration><CORSRule>${inner}</CORSRule></CORSConfiguration>`;
  const cases: [string, string][] = [
    ['', 'MalformedXML'],
    ['<CORSConfiguration>', 'MalformedXML'],
    ['<Other/>', 'MalformedXML'],
    ['<CORSConfiguration/>', 'MalformedXML'],
    [rule('<AllowedMethod>GET</AllowedMethod>'), 'MalformedXML'],
    [rule('<AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'],
    [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>'), 'InvalidArgument'],
    [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>'), 'InvalidArgument'],
    [rule('<AllowedOrigin>https://*.*.org</AllowedOrigin><AllowedMethod>GET</AllowedMethod>'), 'InvalidArgument'],
    [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds>'), 'InvalidArgument'],
    [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Bogus/>'), 'MalformedXML'],
    [rule('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>*</ExposeHeader>'), 'InvalidArgument'],
  ];
  for (const [xml, code] of cases) assert.throws(() => parseCorsConfig(xml), { code }, xml);
  assert.deepEqual(parseCorsConfig(rule('<AllowedOrigin> * </AllowedOrigin><AllowedMethod>DELETE</AllowedMethod>')), [
    { allowedOrigins: ['*'], allowedMethods: ['DELETE'], allowedHeaders: [], exposeHeaders: [] },
  ]);
});

const WEBSITE = `<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <ErrorDocument><Key>errors/404.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule>
      <Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>
      <Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith><HttpRedirectCode>301</HttpRedirectCode></Redirect>
    </RoutingRule>
    <RoutingRule>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><HostName>other.example.org</HostName><Protocol>https</Protocol><ReplaceKeyWith>missing.html</ReplaceKeyWith></Redirect>
    </RoutingRule>
    <RoutingRule><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith></ReplaceKeyPrefixWith></Redirect></RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`;

test('website configuration: put, get back, delete', async () => {
  await env.bucket('site');
  assert.equal(await codeOf(call(GetBucketWebsite, 'site')), 'NoSuchWebsiteConfiguration');
  assert.equal((await call(PutBucketWebsite, 'site', WEBSITE)).status, 200);
  const stored = (await env.store.bucketByName('site'))!.website.v;
  assert.deepEqual(stored, {
    indexDocument: 'index.html',
    errorDocument: 'errors/404.html',
    routingRules: [
      { condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyPrefixWith: 'documents/', httpRedirectCode: '301' } },
      { condition: { httpErrorCodeReturnedEquals: '404' }, redirect: { hostName: 'other.example.org', protocol: 'https', replaceKeyWith: 'missing.html' } },
      { condition: { keyPrefixEquals: 'old/' }, redirect: { replaceKeyPrefixWith: '' } },
    ],
  });
  const got = await call(GetBucketWebsite, 'site');
  assert.equal(got.xml().name, 'WebsiteConfiguration');
  assert.deepEqual(parseWebsiteConfig(got.text()), stored);
  assert.equal((await call(DeleteBucketWebsite, 'site')).status, 204);
  assert.equal(await codeOf(call(GetBucketWebsite, 'site')), 'NoSuchWebsiteConfiguration');

  const all = '<WebsiteConfiguration><RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>';
  await call(PutBucketWebsite, 'site', all);
  assert.deepEqual((await env.store.bucketByName('site'))!.website.v, { redirectAllRequestsTo: { hostName: 'example.com', protocol: 'https' } });
  assert.deepEqual(parseWebsiteConfig((await call(GetBucketWebsite, 'site')).text()), { redirectAllRequestsTo: { hostName: 'example.com', protocol: 'https' } });
});

test('website configuration validation', () => {
  const w = (inner: string) => `<WebsiteConfiguration>${inner}</WebsiteConfiguration>`;
  const idx = '<IndexDocument><Suffix>index.html</Suffix></IndexDocument>';
  const rule = (inner: string) => w(`${idx}<RoutingRules><RoutingRule>${inner}</RoutingRule></RoutingRules>`);
  const cases: [string, string][] = [
    ['not xml', 'MalformedXML'],
    ['<CORSConfiguration/>', 'MalformedXML'],
    [w(''), 'InvalidArgument'],
    [w('<IndexDocument><Suffix></Suffix></IndexDocument>'), 'InvalidArgument'],
    [w('<IndexDocument><Suffix>a/index.html</Suffix></IndexDocument>'), 'InvalidArgument'],
    [w('<IndexDocument/>'), 'InvalidArgument'],
    [w(`${idx}<ErrorDocument><Key></Key></ErrorDocument>`), 'InvalidArgument'],
    [w(`${idx}<Unknown/>`), 'MalformedXML'],
    [w(`${idx}${idx}`), 'MalformedXML'],
    [w(`${idx}<RedirectAllRequestsTo><HostName>a.b</HostName></RedirectAllRequestsTo>`), 'InvalidArgument'],
    [w('<RedirectAllRequestsTo><Protocol>https</Protocol></RedirectAllRequestsTo>'), 'InvalidArgument'],
    [w('<RedirectAllRequestsTo><HostName>a.b</HostName><Protocol>ftp</Protocol></RedirectAllRequestsTo>'), 'InvalidArgument'],
    [w(`${idx}<RoutingRules></RoutingRules>`), 'MalformedXML'],
    [rule('<Condition><KeyPrefixEquals>a/</KeyPrefixEquals></Condition>'), 'MalformedXML'],
    [rule('<Redirect></Redirect>'), 'InvalidArgument'],
    [rule('<Condition></Condition><Redirect><HostName>x.org</HostName></Redirect>'), 'InvalidArgument'],
    [rule('<Condition><HttpErrorCodeReturnedEquals>200</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x.org</HostName></Redirect>'), 'InvalidArgument'],
    [rule('<Redirect><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith></Redirect>'), 'InvalidArgument'],
    [rule('<Redirect><HttpRedirectCode>200</HttpRedirectCode></Redirect>'), 'InvalidArgument'],
    [rule('<Redirect><HostName>http://x.org/</HostName></Redirect>'), 'InvalidArgument'],
  ];
  for (const [xml, code] of cases) assert.throws(() => parseWebsiteConfig(xml), { code }, xml);
  // A rule without a condition applies always; it is valid.
  assert.deepEqual(parseWebsiteConfig(rule('<Redirect><HostName>x.org</HostName></Redirect>')).routingRules, [{ redirect: { hostName: 'x.org' } }]);
});

test('config writes need owner permission; bad bodies leave the stored config untouched', async () => {
  await env.bucket('locked');
  const ro = { read: true, write: true, owner: false };
  assert.equal(await codeOf(call(PutBucketCors, 'locked', CORS, ro)), 'AccessDenied');
  assert.equal(await codeOf(call(PutBucketWebsite, 'locked', WEBSITE, ro)), 'AccessDenied');
  await call(PutBucketWebsite, 'locked', WEBSITE);
  assert.equal(await codeOf(call(PutBucketWebsite, 'locked', '<WebsiteConfiguration/>')), 'InvalidArgument');
  assert.equal((await env.store.bucketByName('locked'))!.website.v!.indexDocument, 'index.html');
  assert.equal(await codeOf(call(PutBucketCors, 'locked', 'x'.repeat(70 * 1024))), 'EntityTooLarge');
});
