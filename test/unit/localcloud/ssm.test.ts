import { buildState, defaultScenario, loadScenario } from '../../localcloud/scenario.js';
import { AwsError, type AwsRequest, type AwsResponse } from '../../localcloud/protocol.js';
import { deregisterManagedInstance, registerManagedInstance, silenceAgent, ssmHandler } from '../../localcloud/ssm.js';
import type { CloudState } from '../../localcloud/state.js';

const ACTIVATION = '4f2a8c1e-1b2c-4d3e-9f00-a1b2c3d4e5f6';
const NODE_1 = 'mi-026d6a261e355fba7';
const NODE_2 = 'mi-0b3c4d5e6f7a80912';
const NODE_3 = 'mi-0c4d5e6f7a8b90a23';

function request(target: string, body: unknown): AwsRequest {
  return {
    service: 'ssm',
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    accessKeyId: 'AKIDLOCALCLOUD',
  };
}

/** What the server does with a request: route, handle, render an AwsError in the protocol's shape. */
async function serve(state: CloudState, action: string, body: unknown = {}): Promise<{ status: number; json: any; response: AwsResponse }> {
  const req = request(`AmazonSSM.${action}`, body);
  let response: AwsResponse;
  try {
    response = await ssmHandler.handle(req, ssmHandler.actionOf(req), state);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    response = ssmHandler.errorResponse(error, action);
  }
  return { status: response.status, json: JSON.parse(response.body), response };
}

const ids = (list: { InstanceId: string }[]) => list.map((info) => info.InstanceId);

let state: CloudState;
beforeEach(() => {
  state = loadScenario();
});

describe('actionOf', () => {
  test('reads the operation from X-Amz-Target', () => {
    expect(ssmHandler.actionOf(request('AmazonSSM.DescribeInstanceInformation', {}))).toBe('DescribeInstanceInformation');
  });

  test.each(['AmazonSSM.CreateActivation', 'AWSEvents.ListRules', ''])('%j is an UnknownOperationException', (target) => {
    expect(() => ssmHandler.actionOf(request(target, {}))).toThrow(expect.objectContaining({ code: 'UnknownOperationException', status: 400 }));
  });
});

describe('JSON 1.1 errors', () => {
  test('status 400 with __type and message', async () => {
    const { status, json, response } = await serve(state, 'DeregisterManagedInstance', { InstanceId: 'mi-00000000000000000' });
    expect(status).toBe(400);
    expect(json).toEqual({ __type: 'InvalidInstanceId', message: expect.any(String) });
    expect(response.headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  test('a body that is not JSON is a SerializationException', async () => {
    expect((await serve(state, 'DescribeInstanceInformation', '{not json')).json.__type).toBe('SerializationException');
  });
});

describe('DescribeInstanceInformation', () => {
  test('lists every managed instance with the fields the adapter reads', async () => {
    const { status, json } = await serve(state, 'DescribeInstanceInformation');
    expect(status).toBe(200);
    expect(ids(json.InstanceInformationList)).toEqual([NODE_1, NODE_2, NODE_3]);
    expect(json.InstanceInformationList[0]).toMatchObject({
      InstanceId: NODE_1,
      IPAddress: '10.20.1.10',
      PingStatus: 'Online',
      ActivationId: ACTIVATION,
      ResourceType: 'ManagedInstance',
      ComputerName: 'ip-10-20-1-10.us-west-2.compute.internal',
      PlatformType: 'Linux',
    });
    expect(typeof json.InstanceInformationList[0].LastPingDateTime).toBe('number');
    expect(json.NextToken).toBeUndefined();
  });

  test('InstanceIds: well-formed ids that are not registered are left out, not an error', async () => {
    const { status, json } = await serve(state, 'DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: [NODE_2, 'mi-0ffffffffffffffff', 'i-0123456789abcdef0'] }] });
    expect(status).toBe(200);
    expect(ids(json.InstanceInformationList)).toEqual([NODE_2]);
  });

  test('InstanceIds: a value that is not a node id is InvalidInstanceId', async () => {
    const { status, json } = await serve(state, 'DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: ['node-1'] }] });
    expect([status, json.__type]).toEqual([400, 'InvalidInstanceId']);
  });

  test('filters are ANDed, values ORed', async () => {
    state.managedInstances.get(NODE_3)!.pingStatus = 'ConnectionLost';
    const online = await serve(state, 'DescribeInstanceInformation', {
      Filters: [
        { Key: 'ActivationIds', Values: [ACTIVATION, 'other'] },
        { Key: 'PingStatus', Values: ['Online'] },
        { Key: 'ResourceType', Values: ['ManagedInstance'] },
      ],
    });
    expect(ids(online.json.InstanceInformationList)).toEqual([NODE_1, NODE_2]);
    const ec2 = await serve(state, 'DescribeInstanceInformation', { Filters: [{ Key: 'ResourceType', Values: ['EC2Instance'] }] });
    expect(ec2.json.InstanceInformationList).toEqual([]);
  });

  test('the deprecated InstanceInformationFilterList works alone, not together with Filters', async () => {
    const legacy = await serve(state, 'DescribeInstanceInformation', { InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [NODE_3] }] });
    expect(ids(legacy.json.InstanceInformationList)).toEqual([NODE_3]);
    const both = await serve(state, 'DescribeInstanceInformation', {
      InstanceInformationFilterList: [{ key: 'InstanceIds', valueSet: [NODE_3] }],
      Filters: [{ Key: 'InstanceIds', Values: [NODE_3] }],
    });
    expect([both.status, both.json.__type]).toEqual([400, 'ValidationException']);
  });

  test.each([
    [{ Filters: [{ Key: 'Colour', Values: ['blue'] }] }, 'InvalidFilterKey'],
    [{ Filters: [{ Key: 'ResourceType', Values: ['ManagedInstance', 'EC2Instance'] }] }, 'InvalidInstanceInformationFilterValue'],
    [{ Filters: [{ Key: 'ResourceType', Values: ['Document'] }] }, 'InvalidInstanceInformationFilterValue'],
    [{ Filters: [{ Key: 'PingStatus', Values: ['Offline'] }] }, 'InvalidInstanceInformationFilterValue'],
    [{ Filters: [{ Key: 'InstanceIds', Values: [] }] }, 'ValidationException'],
    [{ MaxResults: 4 }, 'ValidationException'],
    [{ MaxResults: 51 }, 'ValidationException'],
    [{ NextToken: 'garbage' }, 'InvalidNextToken'],
  ])('DescribeInstanceInformation %j → %s', async (body, code) => {
    const { status, json } = await serve(state, 'DescribeInstanceInformation', body);
    expect([status, json.__type]).toEqual([400, code]);
  });

  test('paginates with MaxResults and NextToken; the last page has no NextToken', async () => {
    for (let i = 0; i < 9; i++) registerManagedInstance(state, { ipAddress: `10.20.9.${i + 1}` });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const { json } = await serve(state, 'DescribeInstanceInformation', { MaxResults: 5, ...(token ? { NextToken: token } : {}) });
      expect(json.InstanceInformationList.length).toBeLessThanOrEqual(5);
      seen.push(...ids(json.InstanceInformationList));
      token = json.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...state.managedInstances.keys()].sort());
  });

  test('a node deregistered between pages does not break pagination', async () => {
    for (let i = 0; i < 7; i++) registerManagedInstance(state, { ipAddress: `10.20.9.${i + 1}` });
    const first = await serve(state, 'DescribeInstanceInformation', { MaxResults: 5 });
    const lastOnFirst = first.json.InstanceInformationList[4].InstanceId;
    deregisterManagedInstance(state, lastOnFirst);
    const second = await serve(state, 'DescribeInstanceInformation', { MaxResults: 5, NextToken: first.json.NextToken });
    expect(second.json.InstanceInformationList).toHaveLength(5);
    expect(ids(second.json.InstanceInformationList)).not.toContain(lastOnFirst);
  });
});

describe('registerManagedInstance / deregisterManagedInstance', () => {
  test('registers mi- + 17 hex, counted against the only activation, Online', () => {
    const id = registerManagedInstance(state, { ipAddress: '10.20.2.20' });
    expect(id).toMatch(/^mi-[0-9a-f]{17}$/);
    expect(state.managedInstances.get(id)).toMatchObject({ id, ipAddress: '10.20.2.20', activationId: ACTIVATION, pingStatus: 'Online' });
  });

  test('takes a given id; refuses a duplicate, a malformed id and an unknown activation', () => {
    expect(registerManagedInstance(state, { id: 'mi-0d5e6f7a8b9c0b134', ipAddress: '10.20.2.20' })).toBe('mi-0d5e6f7a8b9c0b134');
    expect(() => registerManagedInstance(state, { id: 'mi-0d5e6f7a8b9c0b134', ipAddress: '10.20.2.21' })).toThrow(/already registered/);
    expect(() => registerManagedInstance(state, { id: 'mi-123', ipAddress: '10.20.2.21' })).toThrow(/17 hex/);
    expect(() => registerManagedInstance(state, { ipAddress: '10.20.2.21', activationId: 'nope' })).toThrow(/activation nope does not exist/);
  });

  test('deregistering an unknown instance is InvalidInstanceId', () => {
    expect(deregisterManagedInstance(state, NODE_1)).toEqual({ managedInstanceId: NODE_1, deregistered: true });
    expect(() => deregisterManagedInstance(state, NODE_1)).toThrow(expect.objectContaining({ code: 'InvalidInstanceId' }));
  });
});

describe('DeregisterManagedInstance', () => {
  test('removes the instance; a second call is InvalidInstanceId (the "already gone" idiom)', async () => {
    expect((await serve(state, 'DeregisterManagedInstance', { InstanceId: NODE_2 })).status).toBe(200);
    expect(state.managedInstances.has(NODE_2)).toBe(false);
    const again = await serve(state, 'DeregisterManagedInstance', { InstanceId: NODE_2 });
    expect([again.status, again.json.__type]).toEqual([400, 'InvalidInstanceId']);
  });

  test('an id that is not mi- + 17 hex fails validation; a missing one too', async () => {
    expect((await serve(state, 'DeregisterManagedInstance', { InstanceId: 'i-0123456789abcdef0' })).json.__type).toBe('ValidationException');
    expect((await serve(state, 'DeregisterManagedInstance', {})).json.__type).toBe('ValidationException');
  });
});

describe('activations', () => {
  test('DescribeActivations lists ActivationId, Tags and the registration count', async () => {
    const { json } = await serve(state, 'DescribeActivations');
    expect(json.ActivationList).toEqual([
      expect.objectContaining({
        ActivationId: ACTIVATION,
        RegistrationsCount: 3,
        Expired: expect.any(Boolean),
        Tags: [{ Key: 'EKSClusterARN', Value: 'arn:aws:eks:us-west-2:123456789012:cluster/ekscluster1' }],
      }),
    ]);
  });

  test('filters by ActivationIds, refuses an unknown filter key, paginates', async () => {
    for (let i = 0; i < 4; i++) state.activations.set(`00000000-0000-0000-0000-00000000000${i}`, { id: `00000000-0000-0000-0000-00000000000${i}`, tags: {} });
    const one = await serve(state, 'DescribeActivations', { Filters: [{ FilterKey: 'ActivationIds', FilterValues: [ACTIVATION] }] });
    expect(one.json.ActivationList.map((a: any) => a.ActivationId)).toEqual([ACTIVATION]);
    expect((await serve(state, 'DescribeActivations', { Filters: [{ FilterKey: 'Name', FilterValues: ['x'] }] })).json.__type).toBe('InvalidFilter');
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const { json } = await serve(state, 'DescribeActivations', { MaxResults: 2, ...(token ? { NextToken: token } : {}) });
      seen.push(...json.ActivationList.map((a: any) => a.ActivationId));
      token = json.NextToken;
    } while (token);
    expect(seen.sort()).toEqual([...state.activations.keys()].sort());
    expect((await serve(state, 'DescribeActivations', { MaxResults: 51 })).json.__type).toBe('ValidationException');
  });

  test('DeleteActivation deletes; a second call is InvalidActivation; a malformed id is InvalidActivationId', async () => {
    expect((await serve(state, 'DeleteActivation', { ActivationId: ACTIVATION })).status).toBe(200);
    expect(state.activations.size).toBe(0);
    expect((await serve(state, 'DeleteActivation', { ActivationId: ACTIVATION })).json.__type).toBe('InvalidActivation');
    expect((await serve(state, 'DeleteActivation', { ActivationId: 'abc' })).json.__type).toBe('InvalidActivationId');
  });
});

describe('Run Command', () => {
  const shell = (commands: string[], instanceIds: string[] = [NODE_1]) => ({ DocumentName: 'AWS-RunShellScript', InstanceIds: instanceIds, Parameters: { commands } });

  async function invocation(commandId: string, instanceId: string) {
    return serve(state, 'GetCommandInvocation', { CommandId: commandId, InstanceId: instanceId });
  }

  test('an ordinary script runs and reports Success with exit code 0', async () => {
    const sent = await serve(state, 'SendCommand', shell(['uptime'], [NODE_1, NODE_2]));
    expect(sent.status).toBe(200);
    expect(sent.json.Command).toMatchObject({ DocumentName: 'AWS-RunShellScript', InstanceIds: [NODE_1, NODE_2], Status: 'Pending', TargetCount: 2 });
    expect(sent.json.Command.CommandId).toMatch(/^[0-9a-f-]{36}$/);
    expect(state.commands?.get(sent.json.Command.CommandId)?.invocations.size).toBe(2);
    const { json } = await invocation(sent.json.Command.CommandId, NODE_2);
    expect(json).toMatchObject({ CommandId: sent.json.Command.CommandId, InstanceId: NODE_2, Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, PluginName: 'aws:runShellScript' });
  });

  test('Targets [{Key: InstanceIds}] selects instances like InstanceIds', async () => {
    const sent = await serve(state, 'SendCommand', { DocumentName: 'AWS-RunShellScript', Targets: [{ Key: 'InstanceIds', Values: [NODE_3] }], Parameters: { commands: ['true'] } });
    expect((await invocation(sent.json.Command.CommandId, NODE_3)).json.Status).toBe('Success');
  });

  test.each([
    ['an unregistered instance', 'InvalidInstanceId', shell(['true'], ['mi-0ffffffffffffffff'])],
    ['an unknown document', 'InvalidDocument', { ...shell(['true']), DocumentName: 'My-Doc' }],
    ['no commands', 'InvalidParameters', { ...shell(['true']), Parameters: {} }],
    ['an undefined parameter', 'InvalidParameters', { ...shell(['true']), Parameters: { commands: ['true'], colour: ['blue'] } }],
    ['no target', 'ValidationException', { DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['true'] } }],
    ['51 instances', 'ValidationException', shell(['true'], Array.from({ length: 51 }, () => NODE_1))],
  ])('SendCommand with %s → %s', async (_name, code, body) => {
    const { status, json } = await serve(state, 'SendCommand', body);
    expect([status, json.__type]).toEqual([400, code]);
  });

  test('an instance that is not Online cannot receive commands', async () => {
    state.managedInstances.get(NODE_1)!.pingStatus = 'ConnectionLost';
    const { json } = await serve(state, 'SendCommand', shell(['true']));
    expect(json).toEqual({ __type: 'InvalidInstanceId', message: `Instances [[${NODE_1}]] not in a valid state for account 123456789012` });
  });

  test('GetCommandInvocation errors: unknown command or instance, malformed id, wrong plugin', async () => {
    const sent = await serve(state, 'SendCommand', shell(['true']));
    const id = sent.json.Command.CommandId;
    expect((await invocation('11111111-2222-3333-4444-555555555555', NODE_1)).json.__type).toBe('InvocationDoesNotExist');
    expect((await invocation(id, NODE_2)).json.__type).toBe('InvocationDoesNotExist');
    expect((await invocation('zzzzzzzz-2222-3333-4444-555555555555', NODE_1)).json.__type).toBe('InvalidCommandId');
    expect((await invocation('short', NODE_1)).json.__type).toBe('ValidationException');
    expect((await invocation(id, 'node-1')).json.__type).toBe('InvalidInstanceId');
    expect((await serve(state, 'GetCommandInvocation', { CommandId: id, InstanceId: NODE_1, PluginName: 'aws:runPowerShellScript' })).json.__type).toBe('InvalidPluginName');
  });

  describe('nodeadm uninstall', () => {
    const cordon = (name: string) => {
      (state.nodes.get(name) as { spec: Record<string, unknown> }).spec.unschedulable = true;
    };

    test('on a cordoned node: deregisters the managed instance, the invocation never completes, the Node stays', async () => {
      cordon(NODE_1);
      const sent = await serve(state, 'SendCommand', shell(['sudo nodeadm uninstall']));
      expect(sent.status).toBe(200);
      expect(state.managedInstances.has(NODE_1)).toBe(false);
      expect(state.nodes.has(NODE_1)).toBe(true);
      for (let i = 0; i < 3; i++) {
        const { json } = await invocation(sent.json.Command.CommandId, NODE_1);
        expect(json).toMatchObject({ Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 });
      }
      // The managed instance is gone: deregistering it again is the "already gone" case.
      expect((await serve(state, 'DeregisterManagedInstance', { InstanceId: NODE_1 })).json.__type).toBe('InvalidInstanceId');
    });

    test('on a schedulable node: refuses (Failed, exit 1) and the instance stays registered', async () => {
      const sent = await serve(state, 'SendCommand', shell(['set -e', 'nodeadm uninstall']));
      const { json } = await invocation(sent.json.Command.CommandId, NODE_1);
      expect(json).toMatchObject({ Status: 'Failed', ResponseCode: 1 });
      expect(json.StandardErrorContent).toMatch(/please drain or cordon node to mark it unschedulable or use --skip node-validation/);
      expect(state.managedInstances.has(NODE_1)).toBe(true);
    });

    test.each(['nodeadm uninstall --skip node-validation,pod-validation', 'nodeadm uninstall --skip=node-validation', 'nodeadm uninstall -s pod-validation -s node-validation --force'])(
      '%j skips the cordon check',
      async (line) => {
        const sent = await serve(state, 'SendCommand', shell([line]));
        expect((await invocation(sent.json.Command.CommandId, NODE_1)).json.Status).toBe('InProgress');
        expect(state.managedInstances.has(NODE_1)).toBe(false);
      },
    );

    test('a node without a Kubernetes Node object passes node validation', async () => {
      state.nodes.delete(NODE_2);
      const sent = await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_2]));
      expect((await invocation(sent.json.Command.CommandId, NODE_2)).json.Status).toBe('InProgress');
      expect(state.managedInstances.has(NODE_2)).toBe(false);
    });

    test.each([
      '/usr/local/bin/nodeadm uninstall --skip node-validation,pod-validation',
      'sudo /usr/local/bin/nodeadm uninstall --skip=node-validation,pod-validation',
      'nodeadm uninstall --skip pod-validation --skip node-validation',
    ])('%j is recognised as nodeadm uninstall', async (line) => {
      const sent = await serve(state, 'SendCommand', shell(['set -euo pipefail', line], [NODE_3]));
      expect((await invocation(sent.json.Command.CommandId, NODE_3)).json).toMatchObject({ Status: 'InProgress', ResponseCode: -1 });
      expect(state.managedInstances.has(NODE_3)).toBe(false);
    });

    // aws/eks-hybrid internal/node: IsDrained keeps the pods a DaemonSet controls and static pods' mirrors.
    describe('pod-validation', () => {
      const podsOn = (node: string) => [...state.pods!.values()].filter((p: any) => p.spec.nodeName === node).map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`);
      const ownedBy = (kind: string) => (key: string) => (state.pods!.get(key) as any).metadata.ownerReferences[0].kind === kind;

      test('the default scenario: NODE_3 runs ReplicaSet pods, the others only DaemonSet pods', () => {
        expect(podsOn(NODE_3).filter(ownedBy('ReplicaSet')).length).toBeGreaterThan(0);
        for (const node of [NODE_1, NODE_2]) {
          expect(podsOn(node).length).toBeGreaterThan(0);
          expect(podsOn(node).every(ownedBy('DaemonSet'))).toBe(true);
        }
      });

      test('ReplicaSet pods still bound to the node: refused like nodeadm (Failed, exit 1), checked before the cordon', async () => {
        cordon(NODE_3);
        const sent = await serve(state, 'SendCommand', shell(['sudo /usr/local/bin/nodeadm uninstall'], [NODE_3]));
        const { json } = await invocation(sent.json.Command.CommandId, NODE_3);
        expect(json).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1 });
        expect(json.StandardErrorContent).toBe(
          'Error: only static pods and pods controlled by daemon-sets can be running on the node. Please move pods to different node or use --skip pod-validation\nfailed to run commands: exit status 1',
        );
        expect(json.StandardOutputContent).toContain('Validating if node has been drained...');
        expect(json.StandardOutputContent).not.toContain('marked unschedulable');
        expect(state.managedInstances.has(NODE_3)).toBe(true);
        // Schedulable as well: the pod check comes first, as in nodeadm.
        delete (state.nodes.get(NODE_3) as { spec: Record<string, unknown> }).spec.unschedulable;
        const again = await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_3]));
        expect((await invocation(again.json.Command.CommandId, NODE_3)).json.StandardErrorContent).toMatch(/use --skip pod-validation/);
      });

      test('once only DaemonSet pods and mirror pods remain, the uninstall goes ahead', async () => {
        cordon(NODE_3);
        for (const key of podsOn(NODE_3).filter((key) => !ownedBy('DaemonSet')(key))) state.pods!.delete(key);
        state.pods!.set('kube-system/etcd-mirror', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'etcd-mirror', namespace: 'kube-system', annotations: { 'kubernetes.io/config.mirror': 'abc' }, ownerReferences: [{ kind: 'Node', name: NODE_3, controller: true }] },
          spec: { nodeName: NODE_3 },
        });
        const sent = await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_3]));
        const { json } = await invocation(sent.json.Command.CommandId, NODE_3);
        expect(json).toMatchObject({ Status: 'InProgress' });
        expect(state.managedInstances.has(NODE_3)).toBe(false);
      });

      test('a DaemonSet owner reference without controller: true does not make a pod DaemonSet-controlled', async () => {
        cordon(NODE_1);
        state.pods!.set('default/orphan', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'orphan', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'x' }] },
          spec: { nodeName: NODE_1 },
          status: { phase: 'Succeeded' },
        });
        const sent = await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_1]));
        expect((await invocation(sent.json.Command.CommandId, NODE_1)).json.Status).toBe('Failed');
        expect(state.managedInstances.has(NODE_1)).toBe(true);
      });

      test('--skip pod-validation uninstalls a cordoned node that still runs ReplicaSet pods', async () => {
        cordon(NODE_3);
        const sent = await serve(state, 'SendCommand', shell(['nodeadm uninstall --skip pod-validation'], [NODE_3]));
        const { json } = await invocation(sent.json.Command.CommandId, NODE_3);
        expect(json.Status).toBe('InProgress');
        expect(state.managedInstances.has(NODE_3)).toBe(false);
      });
    });

    test('a later command to the uninstalled node is refused: its agent is gone', async () => {
      cordon(NODE_1);
      await serve(state, 'SendCommand', shell(['nodeadm uninstall']));
      expect((await serve(state, 'SendCommand', shell(['true']))).json.__type).toBe('InvalidInstanceId');
    });
  });
});

describe('ListCommands', () => {
  const shell = (commands: string[], instanceIds: string[], comment = '') => ({ DocumentName: 'AWS-RunShellScript', InstanceIds: instanceIds, Parameters: { commands }, Comment: comment });
  const list = async (body: unknown) => (await serve(state, 'ListCommands', body)).json;
  const listedIds = (json: { Commands: { CommandId: string }[] }) => json.Commands.map((command) => command.CommandId).sort();

  test('ExecutionStage Executing lists what is still running (a silent agent), Complete what ended; Status follows the invocations', async () => {
    silenceAgent(state, NODE_2);
    const running = (await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_2], 'teardown'))).json.Command.CommandId;
    const ended = (await serve(state, 'SendCommand', shell(['uptime'], [NODE_1]))).json.Command.CommandId;

    const executing = await list({ Filters: [{ key: 'ExecutionStage', value: 'Executing' }] });
    expect(executing.Commands).toEqual([
      expect.objectContaining({ CommandId: running, Status: 'InProgress', Comment: 'teardown', InstanceIds: [NODE_2], Parameters: { commands: ['nodeadm uninstall'] }, CompletedCount: 0 }),
    ]);
    expect((await list({ Filters: [{ key: 'ExecutionStage', value: 'Complete' }] })).Commands).toEqual([expect.objectContaining({ CommandId: ended, Status: 'Success', CompletedCount: 1, ErrorCount: 0 })]);
    expect(listedIds(await list({}))).toEqual([running, ended].sort());
  });

  test('InstanceId, CommandId, DocumentName, Status and the time filters narrow the list (ANDed)', async () => {
    const first = (await serve(state, 'SendCommand', shell(['true'], [NODE_1]))).json.Command.CommandId;
    const second = (await serve(state, 'SendCommand', shell(['true'], [NODE_3]))).json.Command.CommandId;
    state.commands!.get(first)!.requestedAt = new Date('2026-01-01T00:00:00Z');

    expect(listedIds(await list({ InstanceId: NODE_3 }))).toEqual([second]);
    expect(listedIds(await list({ CommandId: first }))).toEqual([first]);
    expect(listedIds(await list({ CommandId: '00000000-0000-0000-0000-000000000000' }))).toEqual([]);
    expect(listedIds(await list({ Filters: [{ key: 'InvokedAfter', value: '2026-06-01T00:00:00Z' }] }))).toEqual([second]);
    expect(listedIds(await list({ Filters: [{ key: 'InvokedBefore', value: '2026-06-01T00:00:00Z' }, { key: 'Status', value: 'Success' }] }))).toEqual([first]);
    expect(listedIds(await list({ Filters: [{ key: 'DocumentName', value: 'AWS-RunPatchBaseline' }] }))).toEqual([]);
  });

  test('pages with MaxResults (1–50) and NextToken', async () => {
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await serve(state, 'SendCommand', shell(['true'], [NODE_1]))).json.Command.CommandId);
    const page1 = await list({ MaxResults: 2 });
    const page2 = await list({ MaxResults: 2, NextToken: page1.NextToken });
    expect(page1.Commands).toHaveLength(2);
    expect(page2.NextToken).toBeUndefined();
    expect([...listedIds(page1), ...listedIds(page2)].sort()).toEqual(sent.sort());
  });

  test.each<[string, unknown, string]>([
    ['an unknown filter key', { Filters: [{ key: 'Comment', value: 'x' }] }, 'InvalidFilterKey'],
    ['an unknown status', { Filters: [{ key: 'Status', value: 'Running' }] }, 'InvalidFilterValue'],
    ['an unknown execution stage', { Filters: [{ key: 'ExecutionStage', value: 'Started' }] }, 'InvalidFilterValue'],
    ['a timestamp that is none', { Filters: [{ key: 'InvokedAfter', value: 'yesterday' }] }, 'InvalidFilterValue'],
    ['an empty value', { Filters: [{ key: 'DocumentName', value: '' }] }, 'InvalidFilterValue'],
    ['a node id that is none', { InstanceId: 'node-1' }, 'InvalidInstanceId'],
    ['MaxResults over 50', { MaxResults: 51 }, 'ValidationException'],
  ])('%s is %s', async (_label, body, code) => {
    const { status, json } = await serve(state, 'ListCommands', body);
    expect(status).toBe(400);
    expect(json.__type).toBe(code);
  });
});

describe('a silent SSM agent', () => {
  const shell = (commands: string[], instanceIds: string[]) => ({ DocumentName: 'AWS-RunShellScript', InstanceIds: instanceIds, Parameters: { commands } });
  const invocation = (commandId: string, instanceId: string) => serve(state, 'GetCommandInvocation', { CommandId: commandId, InstanceId: instanceId });

  test('accepts commands, never runs or reports them, and stays registered and Online', async () => {
    expect(silenceAgent(state, NODE_2)).toEqual({ managedInstanceId: NODE_2, agent: 'silent' });
    const sent = await serve(state, 'SendCommand', shell(['uptime'], [NODE_1, NODE_2]));
    expect(sent.status).toBe(200);
    expect(sent.json.Command).toMatchObject({ Status: 'Pending', TargetCount: 2 });
    for (let i = 0; i < 3; i++) {
      expect((await invocation(sent.json.Command.CommandId, NODE_2)).json).toMatchObject({ Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1, ExecutionEndDateTime: '' });
    }
    expect((await invocation(sent.json.Command.CommandId, NODE_1)).json.Status).toBe('Success');
    const listed = await serve(state, 'DescribeInstanceInformation', { Filters: [{ Key: 'InstanceIds', Values: [NODE_2] }] });
    expect(listed.json.InstanceInformationList).toEqual([expect.objectContaining({ InstanceId: NODE_2, PingStatus: 'Online' })]);
  });

  test('nodeadm uninstall sent to it deregisters nothing: nothing runs', async () => {
    silenceAgent(state, NODE_1);
    (state.nodes.get(NODE_1) as { spec: Record<string, unknown> }).spec.unschedulable = true;
    const sent = await serve(state, 'SendCommand', shell(['nodeadm uninstall'], [NODE_1]));
    expect((await invocation(sent.json.Command.CommandId, NODE_1)).json.Status).toBe('InProgress');
    expect(state.managedInstances.get(NODE_1)).toMatchObject({ pingStatus: 'Online', agent: 'silent' });
    // Still Online, so further commands are accepted (and also never answered).
    const next = await serve(state, 'SendCommand', shell(['true'], [NODE_1]));
    expect((await invocation(next.json.Command.CommandId, NODE_1)).json.Status).toBe('InProgress');
  });

  test('scenario files can start a managed instance silent; the default is responsive', async () => {
    const scenario = defaultScenario();
    expect(scenario.managedInstances.map((mi) => mi.agent)).toEqual(['responsive', 'responsive', 'responsive']);
    scenario.managedInstances[2]!.agent = 'silent';
    state = buildState(scenario);
    const sent = await serve(state, 'SendCommand', shell(['true'], [NODE_3]));
    expect((await invocation(sent.json.Command.CommandId, NODE_3)).json.Status).toBe('InProgress');
    expect(registerManagedInstance(state, { ipAddress: '10.20.9.9' })).toMatch(/^mi-/);
    expect([...state.managedInstances.values()].at(-1)!.agent).toBe('responsive');
  });

  test('silencing an unknown managed instance is InvalidInstanceId', () => {
    expect(() => silenceAgent(state, 'mi-0ffffffffffffffff')).toThrow(expect.objectContaining({ code: 'InvalidInstanceId' }));
  });
});

describe('the default scenario activation', () => {
  test('carries the seed tagging EKSClusterARN=<cluster ARN>, returned by DescribeActivations', async () => {
    const { json } = await serve(state, 'DescribeActivations', { Filters: [{ FilterKey: 'ActivationIds', FilterValues: [ACTIVATION] }] });
    expect(json.ActivationList[0].Tags).toEqual([{ Key: 'EKSClusterARN', Value: state.cluster.arn }]);
    expect(state.cluster.arn).toBe('arn:aws:eks:us-west-2:123456789012:cluster/ekscluster1');
  });
});
