/**
 * The checks EKS's authenticator (aws-iam-authenticator `pkg/token`) applies to a `k8s-aws-v1.` bearer
 * token, plus the SigV4 check STS does when EKS replays the URL. Not shipped in the Lambda: the unit tests
 * check the project's tokens against these rules, and the local cloud's Kubernetes API authenticates with them.
 */
import { timingSafeEqual } from 'node:crypto';
import { partition } from '@aws-sdk/util-endpoints';
import { HttpRequest } from '@smithy/protocol-http';
import { CLUSTER_ID_HEADER, TOKEN_PREFIX, formatUrl, presignGetCallerIdentity } from '../../functions/adapters/token.js';

const URL_VALIDITY_MS = 15 * 60_000;
const MAX_TOKEN_LENGTH = 4096;

/** aws-iam-authenticator `parameterWhitelist` (pkg/token/token.go), compared case-insensitively. */
const ALLOWED_QUERY_PARAMETERS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

export type EksTokenValidation = { ok: true; url: URL } | { ok: false; reason: string };

export interface EksTokenValidationOptions {
  region: string;
  now: Date;
  /**
   * Not checked here: the cluster name exists only inside the signature (EKS replays the URL to STS with
   * `x-k8s-aws-id: <its own name>`). verifyEksTokenSignature checks it given the signing secret.
   */
  clusterName?: string;
  /**
   * Accept tokens for this STS instead of the AWS STS hosts (the local test cloud's STS): the host must be
   * exactly `stsEndpoint.host` (port included), the scheme https or `stsEndpoint`'s own (so http is allowed
   * for that host only). Unset: only the partition's STS hosts over https, as EKS does.
   */
  stsEndpoint?: URL;
}

/** STS hosts EKS accepts for a cluster in `region`: regional (and its FIPS twin), plus the global host in `aws`. */
export function validStsHosts(region: string): Set<string> {
  const { name, dnsSuffix } = partition(region);
  const hosts = new Set([`sts.${region}.${dnsSuffix}`, `sts-fips.${region}.${dnsSuffix}`]);
  if (name === 'aws') hosts.add('sts.amazonaws.com');
  return hosts;
}

/** `YYYYMMDDTHHMMSSZ` → Date, or undefined if malformed or out of range. */
export function parseAmzDate(value: string | null | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls over (month 13, second 61); time.Parse in the authenticator rejects those.
  return date.toISOString().startsWith(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`) ? date : undefined;
}

function decodeTokenUrl(token: string): string | undefined {
  const body = token.slice(TOKEN_PREFIX.length);
  // Go's base64.RawURLEncoding: URL alphabet, no padding; Buffer would silently skip anything else.
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) return undefined;
  return Buffer.from(body, 'base64url').toString('utf8');
}

/**
 * The checks EKS's authenticator (aws-iam-authenticator `tokenVerifier.Verify`) applies before it replays
 * the URL to STS. Pure; reasons never contain the token.
 */
export function validateEksToken(token: string, options: EksTokenValidationOptions): EksTokenValidation {
  const fail = (reason: string): EksTokenValidation => ({ ok: false, reason });
  if (token.length > MAX_TOKEN_LENGTH) return fail('token is too large');
  if (!token.startsWith(TOKEN_PREFIX)) return fail(`token is missing expected "${TOKEN_PREFIX}" prefix`);
  const raw = decodeTokenUrl(token);
  if (raw === undefined) return fail('token is not unpadded base64url');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('token does not hold a URL');
  }
  const sts = options.stsEndpoint;
  if (url.protocol !== 'https:' && url.protocol !== sts?.protocol) {
    return fail(`unexpected scheme "${url.protocol.replace(/:$/, '')}"`);
  }
  if (sts ? url.host !== sts.host : !validStsHosts(options.region).has(url.host)) return fail(`unexpected hostname "${url.host}"`);
  // WHATWG URL turns an empty path into "/" (Go's url.Parse does not): look at the raw path as well.
  const rawPath = /^[^:]+:\/\/[^/?#]*([^?#]*)/.exec(raw)?.[1];
  if (url.pathname !== '/' || rawPath !== '/') return fail('unexpected path');

  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(url.search)) {
    const k = key.toLowerCase();
    if (!ALLOWED_QUERY_PARAMETERS.has(k)) return fail(`non-whitelisted query parameter "${key}"`);
    if (params.has(k)) return fail(`query parameter "${key}" appears more than once`);
    params.set(k, value);
  }
  if (params.get('action') !== 'GetCallerIdentity') return fail('unexpected action parameter');
  const signed = (params.get('x-amz-signedheaders') ?? '').split(';').map((h) => h.toLowerCase());
  if (!signed.includes(CLUSTER_ID_HEADER)) return fail(`client did not sign the ${CLUSTER_ID_HEADER} header`);
  const expires = params.get('x-amz-expires') ?? '';
  if (!/^[+-]?\d+$/.test(expires) || Number(expires) < 0 || Number(expires) > 900) {
    return fail('invalid X-Amz-Expires parameter');
  }
  if (!params.get('x-amz-date')) return fail('X-Amz-Date parameter must be present');
  const date = parseAmzDate(params.get('x-amz-date'));
  if (!date) return fail('malformed X-Amz-Date parameter');
  if (options.now.getTime() > date.getTime() + URL_VALIDITY_MS) return fail('X-Amz-Date parameter is expired');
  return { ok: true, url };
}

/**
 * Re-signs the request a token encodes (same credentials, scope, date, expiry, and `x-k8s-aws-id: clusterName`)
 * and compares signatures: true only if the token is a valid SigV4 presign for that cluster. Needs the secret
 * key, so it is for tests and the local cloud; EKS gets the same answer by asking STS.
 */
export async function verifyEksTokenSignature(
  token: string,
  options: { clusterName: string; secretAccessKey: string },
): Promise<boolean> {
  const raw = token.startsWith(TOKEN_PREFIX) ? decodeTokenUrl(token) : undefined;
  if (raw === undefined || !URL.canParse(raw)) return false;
  const url = new URL(raw);
  const q = url.searchParams;
  const [accessKeyId, , region, service] = (q.get('X-Amz-Credential') ?? '').split('/');
  const signingDate = parseAmzDate(q.get('X-Amz-Date'));
  const signature = q.get('X-Amz-Signature');
  if (!accessKeyId || !region || !service || !signingDate || !signature) return false;
  const expected = await presignGetCallerIdentity({
    endpoint: new URL(url.origin + url.pathname),
    clusterName: options.clusterName,
    region,
    service,
    credentials: {
      accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(q.get('X-Amz-Security-Token') ? { sessionToken: q.get('X-Amz-Security-Token') as string } : {}),
    },
    signingDate,
    expiresIn: Number(q.get('X-Amz-Expires')),
  });
  // Every parameter but the signature must be exactly what the re-signed request has (extra or duplicated
  // parameters fail); the signatures are then compared in constant time.
  const expectedQuery = new URLSearchParams(formatUrl(expected).split('?')[1]);
  const a = Buffer.from(expectedQuery.get('X-Amz-Signature') ?? '');
  const b = Buffer.from(signature);
  const given = new URLSearchParams(q);
  for (const p of [expectedQuery, given]) {
    p.delete('X-Amz-Signature');
    p.sort();
  }
  if (expectedQuery.toString() !== given.toString()) return false;
  return a.length === b.length && timingSafeEqual(a, b);
}
