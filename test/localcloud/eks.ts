/**
 * Local EKS (REST-JSON, signing name `eks`): DescribeCluster and ListClusters for the one cluster the
 * scenario holds.
 *
 * Wire shapes follow the EKS API Reference: "DescribeCluster" (`GET /clusters/{name}`, response
 * `{"cluster": Cluster}`), "ListClusters" (`GET /clusters?maxResults&nextToken`, maxResults 1–100, default
 * 100), the "Cluster" and "RemoteNetworkConfigResponse" data types (remoteNodeNetworks / remotePodNetworks
 * are lists of `{cidrs: [...]}`; EKS allows one entry each), and "Common Errors". REST-JSON errors carry
 * their code in the `x-amzn-errortype` header (the SDK v3 reads that first: @smithy/core
 * `loadRestJsonErrorCode`, order header → body `code` → body `__type`) and a JSON body with `message`;
 * DescribeCluster of an unknown name is `ResourceNotFoundException` (HTTP 404) "No cluster found for
 * name: <name>." as the CLI shows it. Timestamps are epoch seconds (REST-JSON default).
 */
import { partition } from '@aws-sdk/util-endpoints';
import { constraintError, decodeToken, encodeToken, epochSeconds } from './json-rpc.js';
import { AwsError, type AwsRequest, type AwsResponse, type ServiceHandler, jsonResponse } from './protocol.js';
import type { CloudState } from './state.js';

/** The Kubernetes version the local API server claims (EKS standard support). */
export const LOCAL_KUBERNETES_VERSION = '1.31';

/** When the local cluster was "created": fixed, so DescribeCluster is stable across calls. */
const CREATED_AT = new Date('2025-01-15T09:30:00Z');

const restJson = (status: number, body: unknown, headers: Record<string, string> = {}): AwsResponse =>
  jsonResponse(status, body, { 'content-type': 'application/json', ...headers });

interface Route {
  action: string;
  method: string;
  pattern: RegExp;
}

// The routes this stand-in knows; every other path is an unknown operation.
const ROUTES: Route[] = [
  { action: 'DescribeCluster', method: 'GET', pattern: /^\/clusters\/([^/]+)$/ },
  { action: 'ListClusters', method: 'GET', pattern: /^\/clusters\/?$/ },
];

function route(request: AwsRequest): { action: string; params: string[] } | undefined {
  for (const r of ROUTES) {
    const match = r.method === request.method ? r.pattern.exec(request.path) : null;
    if (match) return { action: r.action, params: match.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

/** The cluster's VPC: the first VPC that is not one of the remote (on-premises) node networks. */
function clusterVpcId(state: CloudState): string | undefined {
  return [...state.vpcs.values()].find((vpc) => !state.cluster.remoteNodeNetworks.includes(vpc.cidr))?.id;
}

/** The `Cluster` object DescribeCluster returns (EKS API Reference, "Cluster" data type). */
export function describeClusterBody(state: CloudState) {
  const c = state.cluster;
  const p = partition(state.region);
  const ready = c.endpoint !== '' && c.caPem !== '';
  const vpcId = clusterVpcId(state);
  const account = c.arn.split(':')[4] || state.accountId;
  return {
    name: c.name,
    arn: c.arn,
    createdAt: epochSeconds(CREATED_AT),
    version: LOCAL_KUBERNETES_VERSION,
    // Until the Kubernetes API is up there is no endpoint or CA, as for a cluster still CREATING.
    ...(ready ? { endpoint: c.endpoint } : {}),
    roleArn: `arn:${p.name}:iam::${account}:role/eks-cluster-role`,
    resourcesVpcConfig: {
      subnetIds: vpcId ? [...state.subnets.values()].filter((s) => s.vpcId === vpcId).map((s) => s.id) : [],
      securityGroupIds: [],
      clusterSecurityGroupId: 'sg-0c1a2b3c4d5e6f708',
      ...(vpcId ? { vpcId } : {}),
      endpointPublicAccess: true,
      endpointPrivateAccess: true,
      publicAccessCidrs: ['0.0.0.0/0'],
    },
    kubernetesNetworkConfig: { serviceIpv4Cidr: '172.20.0.0/16', ipFamily: 'ipv4', elasticLoadBalancing: { enabled: false } },
    logging: { clusterLogging: [{ types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'], enabled: false }] },
    identity: { oidc: { issuer: `https://oidc.eks.${state.region}.${p.dnsSuffix}/id/0123456789ABCDEF0123456789ABCDEF` } },
    status: ready ? 'ACTIVE' : 'CREATING',
    ...(ready ? { certificateAuthority: { data: Buffer.from(c.caPem, 'utf8').toString('base64') } } : {}),
    platformVersion: 'eks.10',
    tags: {},
    // Hybrid nodes need API (or API_AND_CONFIG_MAP) authentication (EKS user guide, "Prepare cluster access").
    accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
    upgradePolicy: { supportType: 'STANDARD' },
    remoteNetworkConfig: {
      remoteNodeNetworks: [{ cidrs: [...c.remoteNodeNetworks] }],
      remotePodNetworks: c.remotePodNetworks.length > 0 ? [{ cidrs: [...c.remotePodNetworks] }] : [],
    },
  };
}

function describeCluster(state: CloudState, name: string): AwsResponse {
  if (name !== state.cluster.name) {
    throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 404);
  }
  return restJson(200, { cluster: describeClusterBody(state) });
}

function listClusters(state: CloudState, query: URLSearchParams): AwsResponse {
  const raw = query.get('maxResults');
  const maxResults = raw === null ? 100 : Number(raw);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw new AwsError('InvalidParameterException', `maxResults must be between 1 and 100 (got ${raw}).`, 400);
  }
  const names = [state.cluster.name].sort();
  const token = query.get('nextToken');
  const after = token ? decodeToken(token, 'InvalidParameterException', 'The nextToken is not valid.') : undefined;
  const rest = after === undefined ? names : names.filter((n) => n > after);
  const page = rest.slice(0, maxResults);
  return restJson(200, { clusters: page, ...(rest.length > maxResults ? { nextToken: encodeToken(page[page.length - 1]!) } : {}) });
}

export const eksHandler: ServiceHandler = {
  service: 'eks',

  actionOf(request: AwsRequest): string {
    const found = route(request);
    if (!found) throw new AwsError('UnknownOperationException', `No operation matches ${request.method} ${request.path}`, 404);
    return found.action;
  },

  handle(request: AwsRequest, action: string, state: CloudState): AwsResponse {
    const found = route(request);
    switch (action) {
      case 'DescribeCluster': {
        const name = found?.params[0] ?? '';
        if (name.length < 1 || name.length > 100) throw constraintError('name', name, 'Member must have length between 1 and 100', 'InvalidParameterException');
        return describeCluster(state, name);
      }
      case 'ListClusters':
        return listClusters(state, request.query);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 404);
    }
  },

  errorResponse(error: AwsError): AwsResponse {
    return restJson(error.status, { message: error.message }, { 'x-amzn-errortype': error.code });
  },
};
