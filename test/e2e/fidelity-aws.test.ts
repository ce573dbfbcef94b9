/**
 * The local EKS, STS, SSM and EventBridge through the REAL SDK v3 clients and the project's adapters:
 * what the SDK serializes, the cloud understands; what the cloud answers (data, pagination, errors), the
 * SDK parses into the same shapes and exception classes it would get from AWS.
 */
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException as EksResourceNotFound } from '@aws-sdk/client-eks';
import {
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ResourceNotFoundException as EventsResourceNotFound,
} from '@aws-sdk/client-eventbridge';
import {
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvalidActivation,
  InvalidInstanceId,
  InvocationDoesNotExist,
  SSMClient,
  SendCommandCommand,
  paginateDescribeActivations,
} from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EksClusterAdapter } from '../../functions/adapters/eks.js';
import { createCiliumNodeReader } from '../../functions/adapters/kubernetes.js';
import { SsmManagedInstanceAdapter, SsmTeardownAdapter } from '../../functions/adapters/ssm.js';
import { EksTokenProvider, TOKEN_PREFIX } from '../../functions/adapters/token.js';
import { verifyEksTokenSignature } from '../localcloud/token-rules.js';
import { type LocalCloud, startLocalCloud } from '../localcloud/server.js';
import { registerManagedInstance, silenceAgent } from '../localcloud/ssm.js';

const BASE = { accessKeyId: 'AKIDLOCALCLOUD', secretAccessKey: 'localcloud-secret' };
const ACCOUNT = '123456789012';
const READER_ROLE = `arn:aws:iam::${ACCOUNT}:role/eks-hybrid-routes-reader`;
const ACTIVATION = '4f2a8c1e-1b2c-4d3e-9f00-a1b2c3d4e5f6';
const NODE_1 = 'mi-026d6a261e355fba7';
const NODE_2 = 'mi-0b3c4d5e6f7a80912';
const NODE_3 = 'mi-0c4d5e6f7a8b90a23';

let cloud: LocalCloud;
const config = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = BASE) => ({
  region: cloud.region,
  endpoint: cloud.endpoint,
  credentials,
  maxAttempts: 1,
});

beforeAll(async () => {
  cloud = await startLocalCloud();
});

afterAll(async () => {
  await cloud?.stop();
});

describe('EKS', () => {
  // AWS: Amazon EKS API Reference, DescribeCluster — https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
  test('DescribeCluster through the SDK and the adapter: endpoint, CA and remote networks of the local cluster', async () => {
    const eks = new EKSClient(config());
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: 'ekscluster1' }));
    expect(cluster).toMatchObject({ name: 'ekscluster1', status: 'ACTIVE', endpoint: cloud.state.cluster.endpoint, version: '1.31' });
    expect(cluster!.createdAt).toBeInstanceOf(Date);
    expect(Buffer.from(cluster!.certificateAuthority!.data!, 'base64').toString('utf8')).toBe(cloud.state.cluster.caPem);

    await expect(new EksClusterAdapter(eks).describeCluster('ekscluster1')).resolves.toMatchObject({
      name: 'ekscluster1',
      status: 'ACTIVE',
      endpoint: cloud.state.cluster.endpoint,
      remoteNetworks: { remoteNodeNetworks: ['10.20.0.0/16'], remotePodNetworks: ['10.30.0.0/16'] },
    });
  });

  // AWS: Amazon EKS API Reference, DescribeCluster — https://docs.aws.amazon.com/eks/latest/APIReference/API_DescribeCluster.html
  test('an unknown cluster is the SDK ResourceNotFoundException with status 404', async () => {
    const error = await new EKSClient(config()).send(new DescribeClusterCommand({ name: 'nope' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EksResourceNotFound);
    expect(error).toMatchObject({ message: 'No cluster found for name: nope.', $metadata: { httpStatusCode: 404 } });
  });
});

describe('STS', () => {
  // AWS: AWS STS API Reference, GetCallerIdentity — https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  test('GetCallerIdentity names the base credentials', async () => {
    const who = await new STSClient(config()).send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/localcloud-admin`, UserId: expect.stringMatching(/^AIDA/) });
  });

  // AWS: AWS STS API Reference, AssumeRole — https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  // AWS: AWS STS API Reference, GetCallerIdentity — https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  test('AssumeRole issues credentials the cloud then recognises as the role session', async () => {
    const out = await new STSClient(config()).send(new AssumeRoleCommand({ RoleArn: READER_ROLE, RoleSessionName: 'fidelity', DurationSeconds: 900 }));
    const c = out.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(c.Expiration!.getTime() - Date.now()).toBeGreaterThan(890_000);
    expect(out.AssumedRoleUser?.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/fidelity`);

    const session = new STSClient(config({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }));
    const who = await session.send(new GetCallerIdentityCommand({}));
    expect(who).toMatchObject({ Account: ACCOUNT, Arn: out.AssumedRoleUser!.Arn, UserId: out.AssumedRoleUser!.AssumedRoleId });
  });

  // AWS: AWS STS API Reference, Common Error Types — https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
  // AWS: AWS STS API Reference, AssumeRole — https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  test('unknown credentials are InvalidClientTokenId (403); a role in another account is AccessDenied (403)', async () => {
    const stranger = new STSClient(config({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' }));
    await expect(stranger.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId', $metadata: { httpStatusCode: 403 } });
    const foreign = new STSClient(config()).send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::999999999999:role/reader', RoleSessionName: 'x1' }));
    await expect(foreign).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
  });

  // AWS: AWS STS API Reference, AssumeRole — https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
  // AWS: AWS STS API Reference, GetCallerIdentity — https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  // AWS: AWS CLI Command Reference, aws eks get-token — https://docs.aws.amazon.com/cli/latest/reference/eks/get-token.html
  test('EksTokenProvider: assumes the reader role at the local STS; its token reads CiliumNodes from the local Kubernetes API', async () => {
    const sts = new STSClient(config());
    const provider = new EksTokenProvider({ region: cloud.region, sts, readerRoleArn: READER_ROLE });
    const { token } = await provider.getToken('ekscluster1');
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);

    const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    expect(url.host).toBe(`127.0.0.1:${cloud.port}`);
    const accessKeyId = url.searchParams.get('X-Amz-Credential')!.split('/')[0]!;
    const issued = cloud.state.credentials.get(accessKeyId);
    expect(issued).toMatchObject({ principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/eks-hybrid-routes-reader/eks-hybrid-routes`, roleArn: READER_ROLE });
    await expect(verifyEksTokenSignature(token, { clusterName: 'ekscluster1', secretAccessKey: issued!.secretAccessKey })).resolves.toBe(true);

    const cluster = await new EksClusterAdapter(new EKSClient(config())).describeCluster('ekscluster1');
    const nodes = await createCiliumNodeReader({ cluster, token }).listCiliumNodes();
    expect(nodes.map((node) => node.name).sort()).toEqual([NODE_1, NODE_2, NODE_3]);
  });
});

describe('SSM', () => {
  // AWS: AWS Systems Manager API Reference, DescribeInstanceInformation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  test('the adapter batches and paginates DescribeInstanceInformation; unregistered ids are simply absent', async () => {
    cloud.state.calls.length = 0;
    const extra = Array.from({ length: 60 }, (_, i) => registerManagedInstance(cloud.state, { ipAddress: `10.20.50.${i + 1}` }));
    const adapter = new SsmManagedInstanceAdapter(new SSMClient(config()));
    const records = await adapter.describeManagedInstances([NODE_1, NODE_2, NODE_3, ...extra, 'mi-0ffffffffffffffff']);
    expect(records).toHaveLength(63);
    expect(records.find((r) => r.instanceId === NODE_1)).toEqual({
      instanceId: NODE_1,
      ipAddress: '10.20.1.10',
      pingStatus: 'Online',
      activationId: ACTIVATION,
      computerName: 'ip-10-20-1-10.us-west-2.compute.internal',
    });
    const pages = cloud.state.calls.filter((c) => c.service === 'ssm' && c.action === 'DescribeInstanceInformation').length;
    expect(pages).toBe(2); // 63 registered of 64 asked, 50 a page
    for (const id of extra) cloud.state.managedInstances.delete(id);
  });

  // AWS: AWS Systems Manager API Reference, DescribeInstanceInformation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  test('a malformed instance id is the SDK InvalidInstanceId exception', async () => {
    const call = new SSMClient(config()).send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ['node-1'] }] }));
    await expect(call).rejects.toBeInstanceOf(InvalidInstanceId);
  });

  // AWS: AWS Systems Manager API Reference, SendCommand — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
  // AWS: AWS Systems Manager API Reference, GetCommandInvocation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
  // AWS: AWS Systems Manager API Reference, DescribeInstanceInformation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html
  // AWS: AWS Systems Manager API Reference, DeregisterManagedInstance — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeregisterManagedInstance.html
  test('nodeadm uninstall through Run Command deregisters the node and never reports back', async () => {
    const ssm = new SSMClient(config());
    (cloud.state.nodes.get(NODE_3) as { spec: Record<string, unknown> }).spec.unschedulable = true;
    const { Command } = await ssm.send(
      new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [NODE_3], Parameters: { commands: ['nodeadm uninstall --skip pod-validation'] } }),
    );
    expect(Command?.CommandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Command?.RequestedDateTime).toBeInstanceOf(Date);
    const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: Command!.CommandId!, InstanceId: NODE_3 }));
    expect(invocation).toMatchObject({ Status: 'InProgress', ResponseCode: -1 });

    const listed = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [NODE_3] }] }));
    expect(listed.InstanceInformationList).toEqual([]);
    await expect(ssm.send(new DeregisterManagedInstanceCommand({ InstanceId: NODE_3 }))).rejects.toBeInstanceOf(InvalidInstanceId);
    await expect(ssm.send(new GetCommandInvocationCommand({ CommandId: Command!.CommandId!, InstanceId: NODE_2 }))).rejects.toBeInstanceOf(InvocationDoesNotExist);
  });

  // AWS: AWS Systems Manager API Reference, SendCommand — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html
  // AWS: AWS Systems Manager API Reference, GetCommandInvocation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
  // AWS: AWS Systems Manager User Guide, Understanding command statuses (InProgress: the command was sent and the agent has not reported back)
  test('a silent agent: SendCommand is accepted, the invocation stays InProgress, the node stays registered and Online', async () => {
    const ssm = new SSMClient(config());
    const id = registerManagedInstance(cloud.state, { ipAddress: '10.20.60.1' });
    try {
      silenceAgent(cloud.state, id);
      const { Command } = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: ['nodeadm uninstall --skip node-validation,pod-validation'] } }));
      for (let i = 0; i < 3; i++) {
        const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: Command!.CommandId!, InstanceId: id }));
        expect(invocation).toMatchObject({ Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 });
      }
      const listed = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }));
      expect(listed.InstanceInformationList).toEqual([expect.objectContaining({ InstanceId: id, PingStatus: 'Online' })]);
    } finally {
      cloud.state.managedInstances.delete(id);
    }
  });

  // AWS: AWS Systems Manager API Reference, ListCommands and CommandFilter (ExecutionStage Executing | Complete) — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html
  test('the teardown adapter finds the command it sent while it runs (ListCommands through the SDK), and not once it ended', async () => {
    const adapter = new SsmTeardownAdapter(new SSMClient(config()));
    const id = registerManagedInstance(cloud.state, { ipAddress: '10.20.60.3' });
    const other = registerManagedInstance(cloud.state, { ipAddress: '10.20.60.4' });
    const options = { comment: `eks-hybrid-routes teardown of ${id}`, executionTimeoutSeconds: 600 };
    try {
      silenceAgent(cloud.state, id);
      silenceAgent(cloud.state, other);
      const sent = await adapter.runShellScript(id, ['nodeadm uninstall'], options);
      // The same command to another node, and a different command to this one: neither is the one.
      await adapter.runShellScript(other, ['nodeadm uninstall'], options);
      await adapter.runShellScript(id, ['uptime'], options);

      await expect(adapter.findExecutingCommand(id, ['nodeadm uninstall'], options.comment)).resolves.toBe(sent);
      await expect(adapter.findExecutingCommand(id, ['nodeadm uninstall'], 'another comment')).resolves.toBeUndefined();

      cloud.state.commands!.get(sent)!.invocations.get(id)!.status = 'Success';
      await expect(adapter.findExecutingCommand(id, ['nodeadm uninstall'], options.comment)).resolves.toBeUndefined();
    } finally {
      cloud.state.managedInstances.delete(id);
      cloud.state.managedInstances.delete(other);
    }
  });

  // AWS: AWS Systems Manager API Reference, GetCommandInvocation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html
  // AWS: Amazon EKS User Guide, Hybrid nodes nodeadm reference (uninstall --skip pod-validation,node-validation) — https://docs.aws.amazon.com/eks/latest/userguide/hybrid-nodes-nodeadm.html
  test('nodeadm uninstall refuses a node that still runs ReplicaSet pods (Failed, exit 1), then goes ahead once it is drained', async () => {
    const ssm = new SSMClient(config());
    const id = registerManagedInstance(cloud.state, { ipAddress: '10.20.60.2' });
    const pods = cloud.state.pods!;
    cloud.state.nodes.set(id, { apiVersion: 'v1', kind: 'Node', metadata: { name: id }, spec: { unschedulable: true } });
    pods.set('default/api-6d4cf56db6-zz9kq', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'api-6d4cf56db6-zz9kq', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'api-6d4cf56db6', uid: 'u1', controller: true }] },
      spec: { nodeName: id },
      status: { phase: 'Running' },
    });
    try {
      const uninstall = async () => {
        const { Command } = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id], Parameters: { commands: ['sudo /usr/local/bin/nodeadm uninstall'] } }));
        return ssm.send(new GetCommandInvocationCommand({ CommandId: Command!.CommandId!, InstanceId: id }));
      };
      const refused = await uninstall();
      expect(refused).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1 });
      expect(refused.StandardErrorContent).toContain('only static pods and pods controlled by daemon-sets can be running on the node');
      expect(cloud.state.managedInstances.has(id)).toBe(true);

      pods.delete('default/api-6d4cf56db6-zz9kq'); // evicted
      expect(await uninstall()).toMatchObject({ Status: 'InProgress', ResponseCode: -1 });
      expect(cloud.state.managedInstances.has(id)).toBe(false);
    } finally {
      pods.delete('default/api-6d4cf56db6-zz9kq');
      cloud.state.nodes.delete(id);
      cloud.state.managedInstances.delete(id);
    }
  });

  // AWS: AWS Systems Manager API Reference, DescribeActivations (ActivationList[].Tags) — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeActivations.html
  test('the default activation carries EKSClusterARN=<cluster ARN>, as the SDK parses it', async () => {
    const out = await new SSMClient(config()).send(new DescribeActivationsCommand({ Filters: [{ FilterKey: 'ActivationIds', FilterValues: [ACTIVATION] }] }));
    expect(out.ActivationList).toEqual([
      expect.objectContaining({ ActivationId: ACTIVATION, Tags: [{ Key: 'EKSClusterARN', Value: `arn:aws:eks:${cloud.region}:${ACCOUNT}:cluster/ekscluster1` }] }),
    ]);
  });

  // AWS: AWS Systems Manager API Reference, DescribeActivations — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeActivations.html
  // AWS: AWS Systems Manager API Reference, DeleteActivation — https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteActivation.html
  test('DescribeActivations paginates; DeleteActivation twice is InvalidActivation', async () => {
    for (let i = 0; i < 4; i++) cloud.state.activations.set(`0000000${i}-0000-0000-0000-000000000000`, { id: `0000000${i}-0000-0000-0000-000000000000`, tags: {} });
    const ssm = new SSMClient(config());
    const ids: string[] = [];
    for await (const page of paginateDescribeActivations({ client: ssm, pageSize: 2 }, {})) ids.push(...(page.ActivationList ?? []).map((a) => a.ActivationId!));
    expect(ids.sort()).toEqual([...cloud.state.activations.keys()].sort());
    await ssm.send(new DeleteActivationCommand({ ActivationId: '00000000-0000-0000-0000-000000000000' }));
    await expect(ssm.send(new DeleteActivationCommand({ ActivationId: '00000000-0000-0000-0000-000000000000' }))).rejects.toBeInstanceOf(InvalidActivation);
  });
});

describe('EventBridge', () => {
  // AWS: Amazon EventBridge API Reference, DisableRule — https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DisableRule.html
  // AWS: Amazon EventBridge API Reference, DescribeRule — https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeRule.html
  // AWS: Amazon EventBridge API Reference, EnableRule — https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_EnableRule.html
  // AWS: Amazon EventBridge API Reference, ListRules — https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRules.html
  test('DescribeRule / DisableRule / EnableRule / ListRules on the default bus', async () => {
    // The default scenario holds the reconciler's three rules; one more that is not the reconciler's.
    cloud.state.rules.set('unrelated', { name: 'unrelated', state: 'ENABLED', eventPattern: '{"source":["aws.s3"]}' });
    const events = new EventBridgeClient(config());
    await events.send(new DisableRuleCommand({ Name: 'eks-hybrid-routes-ec2-state-change' }));
    expect(await events.send(new DescribeRuleCommand({ Name: 'eks-hybrid-routes-ec2-state-change' }))).toMatchObject({
      Name: 'eks-hybrid-routes-ec2-state-change',
      Arn: `arn:aws:events:${cloud.region}:${ACCOUNT}:rule/eks-hybrid-routes-ec2-state-change`,
      State: 'DISABLED',
      EventBusName: 'default',
    });
    await events.send(new EnableRuleCommand({ Name: 'eks-hybrid-routes-ec2-state-change' }));
    expect(cloud.state.rules.get('eks-hybrid-routes-ec2-state-change')!.state).toBe('ENABLED');

    // ListRules has NextToken but no SDK paginator.
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await events.send(new ListRulesCommand({ NamePrefix: 'eks-hybrid-routes-', Limit: 2, ...(token ? { NextToken: token } : {}) }));
      names.push(...(page.Rules ?? []).map((r) => r.Name!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual(['eks-hybrid-routes-ec2-state-change', 'eks-hybrid-routes-schedule', 'eks-hybrid-routes-ssm-registration']);

    await expect(events.send(new DescribeRuleCommand({ Name: 'nope' }))).rejects.toBeInstanceOf(EventsResourceNotFound);
  });
});
