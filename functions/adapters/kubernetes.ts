/**
 * Reads CiliumNodes (`cilium.io/v2`) from the cluster's API server with an EKS bearer token.
 * The kubeconfig lives in memory only; the server certificate is always verified against the cluster's CA.
 * Any failed page or malformed item aborts the whole listing: a partial node list must never reach the planner.
 */
import { STATUS_CODES } from 'node:http';
import type { AgentOptions } from 'node:https';
import {
  ApiException,
  type Cluster,
  type ConfigurationOptions,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { z } from 'zod';
import type { CiliumNodePort, CiliumNodePortFactory, TokenPort } from '../core/ports.js';
import type { CiliumNodeRecord, ClusterInfo } from '../core/types.js';
import { fieldPath } from '../shared/field-path.js';

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** An API call that failed; `statusCode` is the HTTP status when the server answered. Never carries the token. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * client-node leaves `rejectUnauthorized` unset when skipTLSVerify is false, so NODE_TLS_REJECT_UNAUTHORIZED=0
 * in the environment would silently turn verification off. Pin it on.
 */
class VerifyingKubeConfig extends KubeConfig {
  override createDispatcherOptions(cluster: Cluster | null, agentOptions: AgentOptions) {
    return super.createDispatcherOptions(cluster, { ...agentOptions, rejectUnauthorized: true });
  }
}

// The objects are untyped JSON. Absent or null fields mean "nothing allocated yet"; a field of the wrong
// type means we do not understand the object, and the run stops.
const stringList = z.array(z.string()).nullish();
const CiliumNodeSchema = z.looseObject({
  metadata: z.looseObject({ name: z.string().min(1) }),
  spec: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string().nullish(), ip: z.string().nullish() })).nullish(),
      ipam: z
        .looseObject({
          podCIDRs: stringList,
          pools: z
            .looseObject({
              allocated: z.array(z.looseObject({ pool: z.string().min(1), cidrs: stringList })).nullish(),
            })
            .nullish(),
        })
        .nullish(),
    })
    .nullish(),
});

const ListSchema = z.looseObject({
  items: z.array(z.unknown()),
  metadata: z.looseObject({ continue: z.string().nullish() }).nullish(),
});

function describeIssue(issue: z.core.$ZodIssue): string {
  return `${fieldPath(issue.path, '(object)')}: ${issue.message}`;
}

/** One CiliumNode → CiliumNodeRecord; throws naming the item's index and the offending field. */
export function toCiliumNodeRecord(item: unknown, index: number): CiliumNodeRecord {
  const parsed = CiliumNodeSchema.safeParse(item);
  if (!parsed.success) {
    const name = (item as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    const label = typeof name === 'string' && name ? ` ("${name}")` : '';
    const issues = parsed.error.issues.map(describeIssue).join('; ');
    throw new Error(`malformed CiliumNode items[${index}]${label}: ${issues}`);
  }
  const { metadata, spec } = parsed.data;
  return {
    name: metadata.name,
    // Address pairs are omitempty on both fields in Cilium; an entry without both says nothing, so it is skipped.
    addresses: (spec?.addresses ?? []).flatMap((a) => (a.type && a.ip ? [{ type: a.type, ip: a.ip }] : [])),
    podCIDRs: spec?.ipam?.podCIDRs ?? [],
    poolCIDRs: (spec?.ipam?.pools?.allocated ?? []).map((p) => ({ pool: p.pool, cidrs: p.cidrs ?? [] })),
  };
}

/** Wraps any failure of `call` into a KubernetesApiError with the HTTP status, minus the token. */
function toKubernetesError(call: string, err: unknown, token: string): KubernetesApiError {
  const redact = (s: string) => (token ? s.split(token).join('[redacted]') : s).slice(0, 500);
  if (err instanceof ApiException) {
    const status = err.code;
    let detail: unknown = err.body;
    if (typeof detail === 'string') {
      try {
        detail = JSON.parse(detail);
      } catch {
        // plain-text body: keep it as is
      }
    }
    const message =
      typeof detail === 'string' ? detail : (detail as { message?: unknown } | undefined)?.message;
    const suffix = typeof message === 'string' && message ? `: ${redact(message)}` : '';
    const statusLine = `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
    return new KubernetesApiError(`${call} failed: ${statusLine}${suffix}`, status);
  }
  // Network and TLS failures: undici reports "fetch failed" with the reason in `cause`.
  const e = err as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const cause = e?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const reason = [code, typeof cause?.message === 'string' ? cause.message : undefined].filter(Boolean).join(': ');
  const text = `${typeof e?.message === 'string' ? e.message : String(err)}${reason ? ` (${reason})` : ''}`;
  return new KubernetesApiError(`${call} failed: ${redact(text)}`, undefined, code);
}

export interface CiliumNodeReaderOptions {
  cluster: ClusterInfo;
  token: string;
  pageSize?: number;
  /** Per request (each page), default 15 s. */
  requestTimeoutMs?: number;
}

/** The in-memory kubeconfig: one cluster (server, CA, TLS verified), one token user, one context. */
export function buildKubeConfig(cluster: ClusterInfo, token: string): KubeConfig {
  const kc = new VerifyingKubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.endpoint,
        caData: cluster.certificateAuthorityData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'eks-hybrid-routes', token }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'eks-hybrid-routes' }],
    currentContext: cluster.name,
  });
  return kc;
}

/**
 * A per-request deadline: without one, an API server that never answers would hold the run until the
 * Lambda times out. The abort surfaces as a failed read, so the run changes nothing.
 */
function withTimeout(ms: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

export function createCiliumNodeReader(options: CiliumNodeReaderOptions): CiliumNodePort {
  const { cluster, token, pageSize = DEFAULT_PAGE_SIZE, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS } = options;
  const kc = buildKubeConfig(cluster, token);
  const api = kc.makeApiClient(CustomObjectsApi);

  return {
    async listCiliumNodes() {
      const records: CiliumNodeRecord[] = [];
      let cont: string | undefined;
      do {
        let page: unknown;
        try {
          page = await api.listClusterCustomObject(
            {
              group: 'cilium.io',
              version: 'v2',
              plural: 'ciliumnodes',
              limit: pageSize,
              ...(cont ? { _continue: cont } : {}),
            },
            withTimeout(requestTimeoutMs),
          );
        } catch (err) {
          throw toKubernetesError('list ciliumnodes', err, token);
        }
        const list = ListSchema.safeParse(page);
        if (!list.success) {
          throw new Error(`list ciliumnodes: malformed response: ${list.error.issues.map(describeIssue).join('; ')}`);
        }
        for (const item of list.data.items) records.push(toCiliumNodeRecord(item, records.length));
        const next = list.data.metadata?.continue || undefined;
        if (next !== undefined && next === cont) throw new Error('list ciliumnodes: server repeated a continue token');
        cont = next;
      } while (cont);
      return records;
    },
  };
}

/**
 * A factory that asks `tokens` for the cluster's token on every call (the provider caches and refreshes it)
 * and reuses the reader while the token, endpoint and CA are unchanged.
 */
export function createCiliumNodePortFactory(
  tokens: TokenPort,
  options: { pageSize?: number } = {},
): CiliumNodePortFactory {
  const readers = new Map<string, { token: string; endpoint: string; ca: string; reader: CiliumNodePort }>();
  return async (cluster) => {
    const { token } = await tokens.getToken(cluster.name);
    const cached = readers.get(cluster.name);
    const { endpoint, certificateAuthorityData: ca } = cluster;
    if (cached && cached.token === token && cached.endpoint === endpoint && cached.ca === ca) return cached.reader;
    const reader = createCiliumNodeReader({ cluster, token, ...options });
    readers.set(cluster.name, { token, endpoint, ca, reader });
    return reader;
  };
}
