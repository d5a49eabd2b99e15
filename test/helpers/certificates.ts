// A certificate authority and server certificates made for one test with
// Debian's `openssl`: one for 127.0.0.1 that checks out, one for another
// host name, one that expired yesterday. EC keys: quick to make.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServerCertificate } from './mosquitto.ts';

export const OPENSSL = '/usr/bin/openssl';
const run = promisify(execFile);
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface Certificates {
  /** The authority's certificate (PEM text), what a runtime is told to trust. */
  ca: string;
  good: ServerCertificate;
  wrongHost: ServerCertificate;
  expired: ServerCertificate;
  dispose(): Promise<void>;
}

export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(join(tmpdir(), 'protofly-tls-'));
  // Servers that drop root (mosquitto) read these files too.
  await chmod(dir, 0o755);
  const at = (name: string) => join(dir, name);
  await run(OPENSSL, ['req', '-x509', ...EC, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=protofly test CA']);
  const issue = async (name: string, altName: string, days: number): Promise<ServerCertificate> => {
    const key = at(`${name}.key`);
    const cert = at(`${name}.crt`);
    await run(OPENSSL, ['req', ...EC, '-keyout', key, '-out', at(`${name}.csr`), '-subj', `/CN=${name}`]);
    await writeFile(at(`${name}.ext`), `subjectAltName=${altName}\n`);
    // -days -1: valid until yesterday, that is expired.
    await run(OPENSSL, ['x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
      '-out', cert, '-days', String(days), '-extfile', at(`${name}.ext`)]);
    await chmod(key, 0o644);
    return { cert, key };
  };
  const good = await issue('good', 'IP:127.0.0.1', 2);
  const wrongHost = await issue('wrong-host', 'DNS:elsewhere.example', 2);
  const expired = await issue('expired', 'IP:127.0.0.1', -1);
  return { ca: await readFile(at('ca.crt'), 'utf8'), good, wrongHost, expired, dispose: () => rm(dir, { recursive: true, force: true }) };
}
