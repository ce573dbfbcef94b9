/**
 * The managed scope: the remote node networks (where node IPs must lie) and the remote pod networks
 * (where managed route destinations must lie). It is read from the cluster's `remoteNetworkConfig`;
 * configuration may narrow it, never widen it.
 */
import { type Cidr, type IpAddress, cidrContains, cidrContainsIp, parseCidr } from './cidr.js';
import { IncompleteReadError, ScopeConfigError } from './errors.js';
import type { RemoteNetworks } from './types.js';

export interface Scope {
  readonly nodeNetworks: readonly Cidr[];
  readonly podNetworks: readonly Cidr[];
}

export interface ScopeNarrowing {
  podNetworks?: string[];
  nodeNetworks?: string[];
  /** What the user set each list as (`POD_NETWORKS`, `--pod-networks`), so an error names it; else the field. */
  labels?: { podNetworks: string; nodeNetworks: string };
}

function parseClusterNetworks(cidrs: string[], field: string): Cidr[] {
  if (cidrs.length === 0) {
    throw new IncompleteReadError('cluster', `the cluster has no ${field}; hybrid node networking is not configured`);
  }
  return cidrs.map((text, index) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new IncompleteReadError('cluster', `${field}[${index}]: ${parsed.reason}`);
    return parsed.value;
  });
}

function narrow(clusterNetworks: Cidr[], narrowing: string[] | undefined, label: string): Cidr[] {
  if (narrowing === undefined || narrowing.length === 0) return clusterNetworks;
  return narrowing.map((text, index) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new ScopeConfigError(`${label}[${index}]`, parsed.reason);
    if (!clusterNetworks.some((network) => cidrContains(network, parsed.value))) {
      throw new ScopeConfigError(
        `${label}[${index}]`,
        `${parsed.value.text} is not inside the cluster's networks (${clusterNetworks.map((c) => c.text).join(', ')}); ` +
          'configuration may narrow the managed scope, never widen it',
      );
    }
    return parsed.value;
  });
}

export function buildScope(remote: RemoteNetworks, narrowing: ScopeNarrowing = {}): Scope {
  const clusterNodeNetworks = parseClusterNetworks(remote.remoteNodeNetworks, 'remoteNodeNetworks');
  const clusterPodNetworks = parseClusterNetworks(remote.remotePodNetworks, 'remotePodNetworks');
  return {
    nodeNetworks: narrow(clusterNodeNetworks, narrowing.nodeNetworks, narrowing.labels?.nodeNetworks ?? 'nodeNetworks'),
    podNetworks: narrow(clusterPodNetworks, narrowing.podNetworks, narrowing.labels?.podNetworks ?? 'podNetworks'),
  };
}

export function inPodScope(scope: Scope, cidr: Cidr): boolean {
  return scope.podNetworks.some((network) => cidrContains(network, cidr));
}

export function inNodeScope(scope: Scope, ip: IpAddress): boolean {
  return scope.nodeNetworks.some((network) => cidrContainsIp(network, ip));
}
