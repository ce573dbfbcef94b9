/**
 * Wires the real adapters behind the ports. Clients and caches live as long as the process (a Lambda
 * container or one CLI run), which is what makes a warm run cost three calls.
 */
import { Ec2Adapter } from '../adapters/ec2.js';
import { EksClusterAdapter } from '../adapters/eks.js';
import { createCiliumNodePortFactory } from '../adapters/kubernetes.js';
import { EksTokenProvider } from '../adapters/token.js';
import { type AwsClientOptions, type AwsClients, createAwsClients } from '../adapters/aws-clients.js';
import type { ClusterAccessConfig, ControllerConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { ManagedInstancePort, TokenPort } from '../core/ports.js';
import { SharedValue } from '../shared/shared-value.js';
import type { ReconcileDeps } from './reconcile.js';

export interface ControllerDeps extends ReconcileDeps {
  tokens: TokenPort;
  managedInstances: ManagedInstancePort;
}

/** The Region from configuration, or the SDK's own chain (AWS_REGION, profile); a clear error when neither has one. */
export async function resolveRegion(clients: AwsClients, config: Pick<ClusterAccessConfig, 'region'>): Promise<string> {
  if (config.region) return config.region;
  try {
    return await clients.eks.config.region();
  } catch {
    throw new ConfigError('region', 'no AWS Region is configured (set AWS_REGION or pass the region)');
  }
}

export function createTokenProvider(clients: AwsClients, region: string, access: Pick<ClusterAccessConfig, 'readerRoleArn'>): EksTokenProvider {
  return new EksTokenProvider({
    region,
    sts: clients.sts,
    ...(access.readerRoleArn ? { readerRoleArn: access.readerRoleArn } : {}),
  });
}

export async function createClusterTokenProvider(access: ClusterAccessConfig): Promise<TokenPort> {
  const clients = createAwsClients(access.region ? { region: access.region } : {});
  return createTokenProvider(clients, await resolveRegion(clients, access), access);
}

/**
 * The registration report's SSM lookup, loaded on first use. Only a run woken by an SSM registration event asks
 * for it (handlers/reconcile.ts), while most runs are schedules and EC2 events, and the SSM client is ≈ 125 KiB
 * of bundle and several milliseconds of every cold start. The stack's bundling puts it in a chunk of its own
 * (infra/bundling.ts), so module init does not even compile it; the first registration report of a container
 * loads it (test/bench/bundle.ts measures both). A failed load is not kept: the next report tries again.
 */
export function lazyManagedInstanceLookup(options: AwsClientOptions): ManagedInstancePort {
  const lookup = new SharedValue(async () => (await import('../adapters/ssm.js')).createManagedInstanceLookup(options));
  return {
    describeManagedInstances: async (instanceIds) => (await lookup.get()).describeManagedInstances(instanceIds),
  };
}

export async function createControllerDeps(config: ControllerConfig): Promise<ControllerDeps> {
  const options = config.region ? { region: config.region } : {};
  const clients = createAwsClients(options);
  const tokens = createTokenProvider(clients, await resolveRegion(clients, config), config);
  return {
    cluster: new EksClusterAdapter(clients.eks),
    ciliumNodes: createCiliumNodePortFactory(tokens),
    ec2: new Ec2Adapter(clients.ec2),
    tokens,
    managedInstances: lazyManagedInstanceLookup(options),
    attachmentProofs: new Map(),
  };
}
