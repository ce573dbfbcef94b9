/**
 * EKS bearer tokens, made exactly as `aws eks get-token` and aws-iam-authenticator make them: a presigned
 * STS `GetCallerIdentity` URL with the `x-k8s-aws-id: <cluster>` header signed, base64url-encoded (no
 * padding) behind the `k8s-aws-v1.` prefix. EKS authenticates the caller by replaying that URL against STS.
 *
 * Secrets (the token, the credentials) never go into a log line or an Error message; the BearerToken
 * objects handed out redact themselves when serialized or inspected.
 */
import { inspect } from 'node:util';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { buildQueryString } from '@smithy/core/protocols';
import type { BearerToken, TokenPort } from '../core/ports.js';
import { SharedValue } from '../shared/shared-value.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** The CLI's `URL_TIMEOUT`. STS ignores it: a presigned GetCallerIdentity is valid 15 min after X-Amz-Date. */
const PRESIGN_EXPIRES_SECONDS = 60;
/** The CLI's `TOKEN_EXPIRATION_MINS`: one minute of cushion before the 15-minute validity ends. */
const TOKEN_LIFETIME_MS = 14 * 60_000;
const TOKEN_REUSE_MARGIN_MS = 60_000;
const CREDENTIALS_REUSE_MARGIN_MS = 5 * 60_000;
const ASSUME_ROLE_DURATION_SECONDS = 900;
const REDACTED = '[redacted]';
const sha256 = Hash.bind(null, 'sha256');


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
export async function presignGetCallerIdentity(args: {
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
export function formatUrl(request: HttpRequest): string {
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
