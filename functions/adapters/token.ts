/**
 * EKS bearer tokens, made exactly as `aws eks get-token` and aws-iam-authenticator make them: a presigned
 * STS `GetCallerIdentity` URL with the `x-k8s-aws-id: <cluster>` header signed, base64url-encoded (no
 * padding) behind the `k8s-aws-v1.` prefix. EKS authenticates the caller by replaying that URL against STS.
 *
 * Secrets (the token, the credentials) never go into a log line or an Error message; the BearerToken
 * objects handed out redact themselves when serialized or inspected.
 */
import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { partition } from '@aws-sdk/util-endpoints';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { buildQueryString } from '@smithy/core/protocols';
import type { BearerToken, TokenPort } from '../core/ports.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** The CLI's `URL_TIMEOUT`. STS ignores it: a presigned GetCallerIdentity is valid 15 min after X-Amz-Date. */
const PRESIGN_EXPIRES_SECONDS = 60;
/** The CLI's `TOKEN_EXPIRATION_MINS`: one minute of cushion before the 15-minute validity ends. */
const TOKEN_LIFETIME_MS = 14 * 60_000;
const URL_VALIDITY_MS = 15 * 60_000;
const MAX_TOKEN_LENGTH = 4096;
const TOKEN_REUSE_MARGIN_MS = 60_000;
const CREDENTIALS_REUSE_MARGIN_MS = 5 * 60_000;
const ASSUME_ROLE_DURATION_SECONDS = 900;
const REDACTED = '[redacted]';
const sha256 = Hash.bind(null, 'sha256');

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

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface EksTokenProviderOptions {
  region: string;
  sts: STSClient;
  /** Role to assume for signing; without it the STS client's own credentials sign. */
  readerRoleArn?: string;
  roleSessionName?: string;
  now?: () => Date;
  /** STS URL to presign (wins over everything else; the local test cloud sets it). */
  stsEndpoint?: string;
}

/** A BearerToken that keeps its secret out of JSON.stringify, util.inspect / console.log and string interpolation. */
class RedactedBearerToken implements BearerToken {
  constructor(
    readonly token: string,
    readonly expiresAt: Date,
  ) {}
  toJSON() {
    return { token: REDACTED, expiresAt: this.expiresAt.toISOString() };
  }
  toString() {
    return `BearerToken(${REDACTED}, expires ${this.expiresAt.toISOString()})`;
  }
  [inspect.custom]() {
    return this.toString();
  }
}

/** A value loaded by one call at a time (concurrent callers share it), reused while `fresh`; failures are not kept. */
class SharedValue<T> {
  private entry?: { promise: Promise<T>; value?: T; settled: boolean };
  constructor(
    private readonly load: () => Promise<T>,
    private readonly fresh: (value: T) => boolean,
  ) {}
  get(): Promise<T> {
    const current = this.entry;
    if (current && (!current.settled || this.fresh(current.value as T))) return current.promise;
    const entry: { promise: Promise<T>; value?: T; settled: boolean } = { promise: this.load(), settled: false };
    this.entry = entry;
    entry.promise.then(
      (value) => Object.assign(entry, { value, settled: true }),
      () => {
        if (this.entry === entry) this.entry = undefined;
      },
    );
    return entry.promise;
  }
}

export class EksTokenProvider implements TokenPort {
  private readonly now: () => Date;
  private readonly tokens = new Map<string, SharedValue<BearerToken>>();
  private readonly assumed: SharedValue<Credentials>;
  private endpoint?: Promise<URL>;

  constructor(private readonly options: EksTokenProviderOptions) {
    this.now = options.now ?? (() => new Date());
    this.assumed = new SharedValue(
      () => this.assumeRole(),
      (c) => c.expiration === undefined || this.now().getTime() < c.expiration.getTime() - CREDENTIALS_REUSE_MARGIN_MS,
    );
  }

  getToken(clusterName: string): Promise<BearerToken> {
    let shared = this.tokens.get(clusterName);
    if (!shared) {
      shared = new SharedValue(
        () => this.sign(clusterName),
        (t) => this.now().getTime() < t.expiresAt.getTime() - TOKEN_REUSE_MARGIN_MS,
      );
      this.tokens.set(clusterName, shared);
    }
    return shared.get();
  }

  private async sign(clusterName: string): Promise<BearerToken> {
    const [credentials, endpoint] = await Promise.all([this.credentials(), this.stsUrl()]);
    const signingDate = this.now();
    const presigned = await presignGetCallerIdentity({
      endpoint,
      clusterName,
      region: this.options.region,
      credentials,
      signingDate,
      expiresIn: PRESIGN_EXPIRES_SECONDS,
    });
    const signedHeaders = presigned.query['X-Amz-SignedHeaders'];
    if (typeof signedHeaders !== 'string' || !signedHeaders.split(';').includes(CLUSTER_ID_HEADER)) {
      throw new Error(`presigned STS request does not sign the ${CLUSTER_ID_HEADER} header`);
    }
    const token = TOKEN_PREFIX + Buffer.from(formatUrl(presigned), 'utf8').toString('base64url');
    // The CLI reports signing time + 14 min. Temporary credentials that expire sooner end the URL's validity
    // with them (the CLI never notices because it assumes the role afresh on every call; we cache them).
    let expiresAt = signingDate.getTime() + TOKEN_LIFETIME_MS;
    if (credentials.expiration) expiresAt = Math.min(expiresAt, credentials.expiration.getTime());
    return new RedactedBearerToken(token, new Date(expiresAt));
  }

  private credentials(): Promise<Credentials> {
    // Without a role, the client's provider chain already caches and refreshes its credentials.
    return this.options.readerRoleArn ? this.assumed.get() : this.options.sts.config.credentials();
  }

  private async assumeRole(): Promise<Credentials> {
    const { readerRoleArn, roleSessionName = 'eks-hybrid-routes', sts } = this.options;
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: readerRoleArn,
        RoleSessionName: roleSessionName,
        DurationSeconds: ASSUME_ROLE_DURATION_SECONDS,
      }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
      throw new Error(`AssumeRole ${readerRoleArn} returned no credentials`);
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration ?? new Date(this.now().getTime() + ASSUME_ROLE_DURATION_SECONDS * 1000),
    };
  }

  /**
   * The STS URL to presign, resolved once. Order:
   * 1. the `stsEndpoint` option;
   * 2. a custom endpoint configured on the STS client, exactly as the SDK itself would use it: an explicit
   *    `endpoint` (`config.isCustomEndpoint`), else `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` / profile
   *    `endpoint_url` (the SDK resolves these lazily through `config.serviceConfiguredEndpoint`, not through
   *    `config.endpoint`), unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is set;
   * 3. the client's endpoint rules for the region: the regional endpoint (never the legacy global one),
   *    FIPS if the client is configured for FIPS, never dual-stack (EKS accepts only the classic STS hosts).
   * Honouring (2) is what `aws eks get-token` does: botocore applies configured endpoints to the STS client
   * it presigns with, so the token names the STS the client would call. EKS only accepts real STS hosts,
   * so a token for any other host fails at the API server (validateEksToken shows why), not here.
   */
  private stsUrl(): Promise<URL> {
    this.endpoint ??= this.resolveStsUrl().catch((err: unknown) => {
      this.endpoint = undefined; // retry the resolution next time
      throw err;
    });
    return this.endpoint;
  }

  private async resolveStsUrl(): Promise<URL> {
    if (this.options.stsEndpoint) return new URL(this.options.stsEndpoint);
    const config = this.options.sts.config;
    let custom: string | undefined;
    if (config.isCustomEndpoint && config.endpoint) {
      const e = await config.endpoint();
      custom = `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path}`;
    } else if (!config.ignoreConfiguredEndpointUrls) {
      custom = await config.serviceConfiguredEndpoint?.();
    }
    const resolved = config.endpointProvider({
      Region: this.options.region,
      UseFIPS: custom ? false : await config.useFipsEndpoint(),
      UseDualStack: false,
      UseGlobalEndpoint: false,
      ...(custom ? { Endpoint: custom } : {}),
    });
    return new URL(resolved.url.href);
  }
}

/** SigV4-presign `GET <endpoint>?Action=GetCallerIdentity&Version=2011-06-15` with host and x-k8s-aws-id signed. */
async function presignGetCallerIdentity(args: {
  endpoint: URL;
  clusterName: string;
  region: string;
  credentials: Credentials;
  signingDate: Date;
  expiresIn: number;
  service?: string;
}): Promise<HttpRequest> {
  const { endpoint } = args;
  const request = new HttpRequest({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: endpoint.pathname,
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: endpoint.host, [CLUSTER_ID_HEADER]: args.clusterName },
  });
  const signer = new SignatureV4({
    service: args.service ?? 'sts',
    region: args.region,
    credentials: args.credentials,
    sha256,
  });
  // Only `x-amz-*` headers are hoisted into the query by default; pin x-k8s-aws-id as a signed header anyway.
  const presigned = await signer.presign(request, {
    expiresIn: args.expiresIn,
    signingDate: args.signingDate,
    unhoistableHeaders: new Set([CLUSTER_ID_HEADER]),
  });
  return HttpRequest.clone(presigned);
}

/** The presigned request as a URL; the query is built by the SDK's own (SigV4-compatible) escaping. */
function formatUrl(request: HttpRequest): string {
  const port = request.port ? `:${request.port}` : '';
  return `${request.protocol}//${request.hostname}${port}${request.path}?${buildQueryString(request.query)}`;
}

export interface ExecCredential {
  kind: 'ExecCredential';
  apiVersion: 'client.authentication.k8s.io/v1beta1';
  spec: Record<string, never>;
  status: { expirationTimestamp: string; token: string };
}

/**
 * The object `aws eks get-token` prints (same keys, same order). The CLI formats the expiry with
 * `strftime('%Y-%m-%dT%H:%M:%SZ')`: UTC, whole seconds, `Z`.
 */
export function toExecCredential(token: BearerToken): ExecCredential {
  return {
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    spec: {},
    status: {
      expirationTimestamp: token.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      token: token.token,
    },
  };
}

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
function parseAmzDate(value: string | null | undefined): Date | undefined {
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
