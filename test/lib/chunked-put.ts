// A PUT with Transfer-Encoding: chunked and no declared length, signed UNSIGNED-PAYLOAD, that
// stops sending when the answer comes (what a streaming client with an unknown size does).
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../../src/api/s3/auth/testkit.ts';
import type { TestNode } from './node.ts';

/** PUT with Transfer-Encoding: chunked (no length), signed UNSIGNED-PAYLOAD; sends up to `total`
 *  bytes and stops when the answer comes. Returns the status, body and bytes sent by then. */
export async function chunkedPut(node: TestNode, bucket: string, key: string, total: number, creds = { accessKeyId: node.keyId, secretAccessKey: node.secret }): Promise<{ status: number; body: string; sentAtAnswer: number }> {
  const u = new URL(node.s3Url);
  const signer = new SignatureV4({ credentials: creds, region: node.region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: `/${bucket}/${key}`,
    headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'transfer-encoding': 'chunked' },
  });
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({ host: u.hostname, port: Number(u.port), method: 'PUT', path: `/${bucket}/${key}`, headers: signed.headers });
    const timer = setTimeout(() => req.destroy(new Error('no answer within 60 s')), 60_000);
    req.on('response', (res) => {
      answered = true;
      const sentAtAnswer = sent;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), sentAtAnswer });
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = (): void => {
      while (!answered && sent < total) {
        const piece = randomBytes(256 * 1024); // incompressible: the disk holds what was sent
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

