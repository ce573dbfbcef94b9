/**
 * Wires the real adapters behind the ports. Clients and caches live as long as the process (a Lambda
 * container or one CLI run), which is what makes a warm run cost three calls.
 */
import { Ec2Adapter } from '../adapters/ec2.js';
import { EksClusterAdapter } from '../adapters/eks.js';
import { createCiliumNodePortFactory } from '../adapters/kubernetes.js';
import { SsmManagedInstanceAdapter } from '../adapters/ssm.js';
import { EksTokenProvider } from '../adapters/token.js';
import { type AwsClients, createAwsClients } from '../adapters/aws-clients.js';
import type { ClusterAccessConfig, ControllerConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import type { ManagedInstancePort, TokenPort } from '../core/ports.js';
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

export async function createControllerDeps(config: ControllerConfig): Promise<ControllerDeps> {
  const clients = createAwsClients(config.region ? { region: config.region } : {});
  const tokens = createTokenProvider(clients, await resolveRegion(clients, config), config);
  return {
    cluster: new EksClusterAdapter(clients.eks),
    ciliumNodes: createCiliumNodePortFactory(tokens),
    ec2: new Ec2Adapter(clients.ec2),
    tokens,
    managedInstances: new SsmManagedInstanceAdapter(clients.ssm),
    attachmentProofs: new Map(),
  };
}
