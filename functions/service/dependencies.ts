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
import type { ControllerConfig } from '../core/config.js';
import type { ManagedInstancePort, TokenPort } from '../core/ports.js';
import type { ReconcileDeps } from './reconcile.js';

export interface ControllerDeps extends ReconcileDeps {
  tokens: TokenPort;
  managedInstances: ManagedInstancePort;
}

export async function resolveRegion(clients: AwsClients, config: ControllerConfig): Promise<string> {
  if (config.region) return config.region;
  return clients.eks.config.region();
}

export async function createControllerDeps(config: ControllerConfig): Promise<ControllerDeps> {
  const clients = createAwsClients(config.region ? { region: config.region } : {});
  const region = await resolveRegion(clients, config);
  const tokens = new EksTokenProvider({
    region,
    sts: clients.sts,
    ...(config.readerRoleArn ? { readerRoleArn: config.readerRoleArn } : {}),
  });
  return {
    cluster: new EksClusterAdapter(clients.eks),
    ciliumNodes: createCiliumNodePortFactory(tokens),
    ec2: new Ec2Adapter(clients.ec2),
    tokens,
    managedInstances: new SsmManagedInstanceAdapter(clients.ssm),
  };
}
