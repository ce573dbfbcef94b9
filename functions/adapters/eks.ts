/**
 * EKS adapter: `eks:DescribeCluster` translated to ClusterInfo, cached per cluster for the life of the
 * adapter (one Lambda container), because the answer only changes when someone reconfigures the cluster.
 */
import { DescribeClusterCommand, type Cluster, type EKSClient } from '@aws-sdk/client-eks';
import type { ClusterPort } from '../core/ports.js';
import type { ClusterInfo } from '../core/types.js';
import { SharedValue } from '../shared/shared-value.js';

export class EksClusterAdapter implements ClusterPort {
  /** One shared load per cluster: concurrent first calls share one request; a failure is not remembered. */
  private readonly cache = new Map<string, SharedValue<ClusterInfo>>();

  constructor(private readonly client: EKSClient) {}

  describeCluster(clusterName: string): Promise<ClusterInfo> {
    let shared = this.cache.get(clusterName);
    if (!shared) this.cache.set(clusterName, (shared = new SharedValue(() => this.fetchCluster(clusterName))));
    return shared.get();
  }

  /** Drops the cached answer, so the next call asks EKS again (after the cluster's API could not be read). */
  forget(clusterName: string): void {
    this.cache.get(clusterName)?.forget();
  }

  private async fetchCluster(clusterName: string): Promise<ClusterInfo> {
    const { cluster } = await this.client.send(new DescribeClusterCommand({ name: clusterName }));
    if (!cluster) throw new Error(`DescribeCluster returned no cluster for ${clusterName}`);
    return toClusterInfo(clusterName, cluster);
  }
}

function toClusterInfo(clusterName: string, cluster: Cluster): ClusterInfo {
  // Without these the controller cannot reach the Kubernetes API (e.g. a cluster still CREATING).
  if (!cluster.endpoint) throw new Error(`cluster ${clusterName} has no endpoint`);
  if (!cluster.certificateAuthority?.data) throw new Error(`cluster ${clusterName} has no certificateAuthority.data`);
  const remote = cluster.remoteNetworkConfig;
  return {
    name: cluster.name ?? clusterName,
    arn: cluster.arn,
    status: cluster.status,
    endpoint: cluster.endpoint,
    certificateAuthorityData: cluster.certificateAuthority.data,
    remoteNetworks: {
      remoteNodeNetworks: (remote?.remoteNodeNetworks ?? []).flatMap((network) => network.cidrs ?? []),
      remotePodNetworks: (remote?.remotePodNetworks ?? []).flatMap((network) => network.cidrs ?? []),
    },
  };
}
