/**
 * Certificates for HTTPS test servers on 127.0.0.1: a CA, and a server certificate it signs (SAN IP 127.0.0.1),
 * made with `selfsigned` (EC P-256, SHA-256). Shared by the local cloud's Kubernetes API and the adapter tests.
 */
import selfsigned from 'selfsigned';

export interface Pem {
  /** PKCS#8 private key. */
  private: string;
  cert: string;
}

export async function makeCa(commonName: string): Promise<Pem> {
  const ca = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { private: ca.private, cert: ca.cert };
}

/** A TLS server certificate for 127.0.0.1, signed by `ca`. */
export async function serverCertFor(ca: Pem): Promise<Pem> {
  const cert = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  return { private: cert.private, cert: cert.cert };
}

/** A fresh CA and a 127.0.0.1 server certificate it signed. */
export async function makeCaAndServerCert(commonName: string): Promise<{ ca: Pem; server: Pem }> {
  const ca = await makeCa(commonName);
  return { ca, server: await serverCertFor(ca) };
}
