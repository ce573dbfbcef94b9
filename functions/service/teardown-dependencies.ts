/**
 * Wires the teardown steps' adapters. A module of its own, so the reconcile Lambda's bundle does not carry
 * the EventBridge SDK and the teardown-only adapters.
 */
import { Ec2Adapter } from '../adapters/ec2.js';
import { EksClusterAdapter } from '../adapters/eks.js';
import { EventBridgeRulesAdapter, createEventBridgeClient } from '../adapters/eventbridge.js';
import { createClusterNodesPortFactory } from '../adapters/kubernetes-teardown.js';
import { SsmTeardownAdapter } from '../adapters/ssm.js';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, createAwsClients } from '../adapters/aws-clients.js';
import { createTokenProvider, resolveRegion } from './dependencies.js';
import type { TeardownDeps, TeardownSettings } from './teardown.js';

/**
 * The teardown steps' adapters. Kubernetes calls use the teardown role (cordon, evict, delete), never the
 * reconciler's read-only one; `teardownRoleArn` unset means the caller's own credentials (CLI use).
 */
export async function createTeardownDeps(settings: TeardownSettings, teardownRoleArn: string | undefined): Promise<TeardownDeps> {
  const { config } = settings;
  const options = config.region ? { region: config.region } : {};
  const clients = createAwsClients(options);
  const tokens = createTokenProvider(clients, await resolveRegion(clients, config), teardownRoleArn ? { readerRoleArn: teardownRoleArn } : {});
  return {
    cluster: new EksClusterAdapter(clients.eks),
    clusterNodes: createClusterNodesPortFactory(tokens),
    ec2: new Ec2Adapter(clients.ec2),
    // SendCommand is sent once, never retried by the SDK (see SsmTeardownAdapter).
    ssm: new SsmTeardownAdapter(new SSMClient(clientConfig(options)), new SSMClient(clientConfig({ ...options, maxAttempts: 1 }))),
    rules: new EventBridgeRulesAdapter(createEventBridgeClient(options)),
  };
}
