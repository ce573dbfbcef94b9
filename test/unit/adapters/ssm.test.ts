import {
  DeleteActivationCommand,
  DeregisterManagedInstanceCommand,
  DescribeActivationsCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
  type Command,
  type DescribeInstanceInformationCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SsmManagedInstanceAdapter, SsmTeardownAdapter } from '../../../functions/adapters/ssm.js';
import { lazyManagedInstanceLookup } from '../../../functions/service/dependencies.js';

const ssmMock = mockClient(SSMClient);
const client = new SSMClient({ region: 'us-west-2' });

function managedInstanceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `mi-${i.toString(16).padStart(17, '0')}`);
}

function instanceIdFilterValues(): string[][] {
  return ssmMock.commandCalls(DescribeInstanceInformationCommand).map((call) => {
    const { Filters } = call.args[0].input as DescribeInstanceInformationCommandInput;
    expect(Filters).toHaveLength(1);
    expect(Filters![0]!.Key).toBe('InstanceIds');
    return Filters![0]!.Values ?? [];
  });
}

beforeEach(() => {
  ssmMock.reset();
});

describe('SsmManagedInstanceAdapter', () => {
  test('no ids: no call at all', async () => {
    await expect(new SsmManagedInstanceAdapter(client).describeManagedInstances([])).resolves.toEqual([]);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 0);
  });

  test('filters by InstanceIds and translates the answer', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        {
          InstanceId: 'mi-026d6a261e355fba7',
          IPAddress: '10.20.1.10',
          PingStatus: 'Online',
          ActivationId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
          ComputerName: 'ip-10-20-1-10.us-west-2.compute.internal',
          ResourceType: 'ManagedInstance',
        },
        { InstanceId: 'mi-0aa5b2b2f4f4e0c11', PingStatus: 'ConnectionLost' },
        { PingStatus: 'Online' }, // no id: cannot be matched to anything
      ],
    });

    const records = await new SsmManagedInstanceAdapter(client).describeManagedInstances(['mi-026d6a261e355fba7', 'mi-0aa5b2b2f4f4e0c11']);

    expect(records).toEqual([
      {
        instanceId: 'mi-026d6a261e355fba7',
        ipAddress: '10.20.1.10',
        pingStatus: 'Online',
        activationId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
        computerName: 'ip-10-20-1-10.us-west-2.compute.internal',
      },
      { instanceId: 'mi-0aa5b2b2f4f4e0c11', pingStatus: 'ConnectionLost' },
    ]);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: ['mi-026d6a261e355fba7', 'mi-0aa5b2b2f4f4e0c11'] }],
      MaxResults: 50,
    });
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input.InstanceInformationFilterList).toBeUndefined();
  });

  test('250 ids (plus duplicates) are asked in batches of at most 100', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const ids = managedInstanceIds(250);

    await new SsmManagedInstanceAdapter(client).describeManagedInstances([...ids, ...ids.slice(0, 20)]);

    const batches = instanceIdFilterValues();
    expect(batches.map((values) => values.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(ids);
  });

  test('follows NextToken', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: 'mi-00000000000000001' }], NextToken: 'page-2' })
      .on(DescribeInstanceInformationCommand, { NextToken: 'page-2' })
      .resolves({ InstanceInformationList: [{ InstanceId: 'mi-00000000000000002' }] });

    const records = await new SsmManagedInstanceAdapter(client).describeManagedInstances(['mi-00000000000000001', 'mi-00000000000000002']);

    expect(records.map((r) => r.instanceId)).toEqual(['mi-00000000000000001', 'mi-00000000000000002']);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 2);
  });

  test('a failure on page 2 rejects the whole lookup', async () => {
    const failure = new SSMServiceException({ name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: 'mi-00000000000000001' }], NextToken: 'page-2' })
      .on(DescribeInstanceInformationCommand, { NextToken: 'page-2' })
      .rejects(failure);

    await expect(new SsmManagedInstanceAdapter(client).describeManagedInstances(['mi-00000000000000001'])).rejects.toBe(failure);
  });
});

/** An error shaped the way the SDK deserializes an SSM error response. */
function ssmError(code: string, fault: 'client' | 'server' = 'client'): SSMServiceException {
  return new SSMServiceException({ name: code, $fault: fault, $metadata: { httpStatusCode: fault === 'client' ? 400 : 500 }, message: `${code} (test)` });
}

describe('SsmTeardownAdapter.listManagedInstancesByActivation', () => {
  const activation = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

  test('no activations: no call at all', async () => {
    await expect(new SsmTeardownAdapter(client).listManagedInstancesByActivation([])).resolves.toEqual([]);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 0);
  });

  test('filters on ActivationIds, paginated with 50 per page, and translates', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: 'mi-026d6a261e355fba7', ActivationId: activation, PingStatus: 'Online', IPAddress: '10.20.1.10' }], NextToken: 'page-2' })
      .on(DescribeInstanceInformationCommand, { NextToken: 'page-2' })
      .resolves({ InstanceInformationList: [{ InstanceId: 'mi-0aa5b2b2f4f4e0c11', ActivationId: activation, PingStatus: 'ConnectionLost' }, { PingStatus: 'Online' }] });

    const records = await new SsmTeardownAdapter(client).listManagedInstancesByActivation([activation, activation]);

    expect(records).toEqual([
      { instanceId: 'mi-026d6a261e355fba7', activationId: activation, pingStatus: 'Online', ipAddress: '10.20.1.10' },
      { instanceId: 'mi-0aa5b2b2f4f4e0c11', activationId: activation, pingStatus: 'ConnectionLost' },
    ]);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 2);
    const input = ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input;
    expect(input.Filters).toEqual([{ Key: 'ActivationIds', Values: [activation] }]);
    expect(input.MaxResults).toBe(50);
    expect(input.InstanceInformationFilterList).toBeUndefined();
  });

  test('250 activation ids go out in batches of at most 100', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const ids = Array.from({ length: 250 }, (_, i) => `a1b2c3d4-5678-90ab-cdef-${i.toString().padStart(12, '0')}`);

    await new SsmTeardownAdapter(client).listManagedInstancesByActivation(ids);

    const batches = ssmMock.commandCalls(DescribeInstanceInformationCommand).map((call) => {
      const { Filters } = call.args[0].input;
      expect(Filters).toHaveLength(1);
      expect(Filters![0]!.Key).toBe('ActivationIds');
      return Filters![0]!.Values ?? [];
    });
    expect(batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(batches.flat()).toEqual(ids);
  });

  test('errors propagate', async () => {
    const failure = ssmError('InternalServerError', 'server');
    ssmMock.on(DescribeInstanceInformationCommand).rejects(failure);

    await expect(new SsmTeardownAdapter(client).listManagedInstancesByActivation([activation])).rejects.toBe(failure);
  });

  test('the teardown adapter still answers describeManagedInstances by InstanceIds', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'mi-1' }] });

    await expect(new SsmTeardownAdapter(client).describeManagedInstances(['mi-1'])).resolves.toEqual([{ instanceId: 'mi-1' }]);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: ['mi-1'] }] });
  });
});

describe('SsmTeardownAdapter.listActivations', () => {
  test('every page, 50 per page, translated (tags list to a record)', async () => {
    ssmMock
      .on(DescribeActivationsCommand)
      .resolves({
        ActivationList: [
          {
            ActivationId: 'act-1',
            Description: 'hybrid nodes',
            DefaultInstanceName: 'hybrid-lab',
            IamRole: 'AmazonEKSHybridNodesRole',
            RegistrationLimit: 10,
            RegistrationsCount: 3,
            Expired: false,
            ExpirationDate: new Date('2030-01-01T00:00:00Z'),
            Tags: [
              { Key: 'EKSClusterARN', Value: 'arn:aws:eks:us-west-2:111122223333:cluster/hybrid-lab' },
              { Key: 'eks-hybrid-routes/teardown', Value: '' },
            ],
          },
        ],
        NextToken: 'page-2',
      })
      .on(DescribeActivationsCommand, { NextToken: 'page-2' })
      .resolves({ ActivationList: [{ ActivationId: 'act-2', Expired: true }, { DefaultInstanceName: 'no id' }] });

    const records = await new SsmTeardownAdapter(client).listActivations();

    expect(records).toEqual([
      {
        activationId: 'act-1',
        tags: { EKSClusterARN: 'arn:aws:eks:us-west-2:111122223333:cluster/hybrid-lab', 'eks-hybrid-routes/teardown': '' },
        defaultInstanceName: 'hybrid-lab',
        iamRole: 'AmazonEKSHybridNodesRole',
        registrationsCount: 3,
        expired: false,
      },
      { activationId: 'act-2', tags: {}, expired: true },
    ]);
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeActivationsCommand, 2);
    const input = ssmMock.commandCalls(DescribeActivationsCommand)[0]!.args[0].input;
    expect(input.MaxResults).toBe(50);
    expect(input.Filters).toBeUndefined();
  });

  test('a failure on page 2 rejects: a partial list is never returned', async () => {
    const failure = ssmError('InternalServerError', 'server');
    ssmMock
      .on(DescribeActivationsCommand)
      .resolves({ ActivationList: [{ ActivationId: 'act-1' }], NextToken: 'page-2' })
      .on(DescribeActivationsCommand, { NextToken: 'page-2' })
      .rejects(failure);

    await expect(new SsmTeardownAdapter(client).listActivations()).rejects.toBe(failure);
  });
});

describe('SsmTeardownAdapter.deleteActivation', () => {
  test('deletes the activation', async () => {
    ssmMock.on(DeleteActivationCommand).resolves({});

    await expect(new SsmTeardownAdapter(client).deleteActivation('act-1')).resolves.toBe('deleted');
    expect(ssmMock).toHaveReceivedCommandTimes(DeleteActivationCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(DeleteActivationCommand, { ActivationId: 'act-1' });
  });

  test('InvalidActivation: already gone', async () => {
    ssmMock.on(DeleteActivationCommand).rejects(ssmError('InvalidActivation'));

    await expect(new SsmTeardownAdapter(client).deleteActivation('act-1')).resolves.toBe('already-gone');
  });

  test.each(['InvalidActivationId', 'TooManyUpdates', 'InternalServerError'])('%s propagates', async (code) => {
    const failure = ssmError(code);
    ssmMock.on(DeleteActivationCommand).rejects(failure);

    await expect(new SsmTeardownAdapter(client).deleteActivation('act-1')).rejects.toBe(failure);
  });
});

describe('SsmTeardownAdapter.deregisterManagedInstance', () => {
  test('deregisters the managed instance', async () => {
    ssmMock.on(DeregisterManagedInstanceCommand).resolves({});

    await expect(new SsmTeardownAdapter(client).deregisterManagedInstance('mi-026d6a261e355fba7')).resolves.toBe('deregistered');
    expect(ssmMock).toHaveReceivedCommandTimes(DeregisterManagedInstanceCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(DeregisterManagedInstanceCommand, { InstanceId: 'mi-026d6a261e355fba7' });
  });

  test('InvalidInstanceId (not registered): already gone', async () => {
    ssmMock.on(DeregisterManagedInstanceCommand).rejects(ssmError('InvalidInstanceId'));

    await expect(new SsmTeardownAdapter(client).deregisterManagedInstance('mi-026d6a261e355fba7')).resolves.toBe('already-gone');
  });

  test('other errors propagate', async () => {
    const failure = ssmError('InternalServerError', 'server');
    ssmMock.on(DeregisterManagedInstanceCommand).rejects(failure);

    await expect(new SsmTeardownAdapter(client).deregisterManagedInstance('mi-1')).rejects.toBe(failure);
  });
});

describe('SsmTeardownAdapter.runShellScript', () => {
  const options = { comment: 'eks-hybrid-routes teardown: nodeadm uninstall', executionTimeoutSeconds: 900 };

  test('SendCommand AWS-RunShellScript to the one instance, with commands, execution and delivery timeouts', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-0123', Status: 'Pending' } });

    await expect(
      new SsmTeardownAdapter(client).runShellScript('mi-026d6a261e355fba7', ['set -eu', 'nodeadm uninstall --skip node-validation'], options),
    ).resolves.toBe('cmd-0123');

    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input).toEqual({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: ['mi-026d6a261e355fba7'],
      Parameters: { commands: ['set -eu', 'nodeadm uninstall --skip node-validation'], executionTimeout: ['900'] },
      Comment: 'eks-hybrid-routes teardown: nodeadm uninstall',
      TimeoutSeconds: 300,
    });
  });

  test('a comment longer than 100 characters is cut to 100 (by code point, never splitting one)', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-0123' } });
    const adapter = new SsmTeardownAdapter(client);

    await adapter.runShellScript('mi-1', ['true'], { ...options, comment: 'x'.repeat(150) });
    await adapter.runShellScript('mi-1', ['true'], { ...options, comment: `${'x'.repeat(99)}😀😀` });

    const comments = ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input.Comment);
    expect(comments).toEqual(['x'.repeat(100), `${'x'.repeat(99)}😀`]);
  });

  test('no command id in the answer is an error naming the instance', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: {} });

    await expect(new SsmTeardownAdapter(client).runShellScript('mi-1', ['true'], options)).rejects.toThrow('SendCommand to mi-1 returned no command id');
  });

  test.each([0, 172_801, 1.5, Number.NaN])('executionTimeoutSeconds %p is refused before anything is sent', async (seconds) => {
    await expect(
      new SsmTeardownAdapter(client).runShellScript('mi-1', ['true'], { ...options, executionTimeoutSeconds: seconds }),
    ).rejects.toThrow(RangeError);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });

  test('errors propagate (InvalidInstanceId: the node is not online)', async () => {
    const failure = ssmError('InvalidInstanceId');
    ssmMock.on(SendCommandCommand).rejects(failure);

    await expect(new SsmTeardownAdapter(client).runShellScript('mi-1', ['true'], options)).rejects.toBe(failure);
  });
});

describe('SsmTeardownAdapter: SendCommand goes through its own client (one attempt, no SDK retry)', () => {
  test('runShellScript sends with the second client; every other call uses the first', async () => {
    // A client of its own (not the class-wide mock), so which client sent what can be told apart.
    const sent: unknown[] = [];
    const sendClient = { send: async (command: unknown) => (sent.push(command), { Command: { CommandId: 'cmd-0123' } }) } as unknown as SSMClient;
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    const adapter = new SsmTeardownAdapter(client, sendClient);

    await expect(adapter.runShellScript('mi-1', ['true'], { comment: 'c', executionTimeoutSeconds: 60 })).resolves.toBe('cmd-0123');
    await adapter.findExecutingCommand('mi-1', ['true'], 'c');

    expect(sent).toEqual([expect.any(SendCommandCommand)]);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandsCommand, 1);
  });
});

describe('SsmTeardownAdapter.findExecutingCommand', () => {
  const MI = 'mi-026d6a261e355fba7';
  const COMMANDS = ['/usr/local/bin/nodeadm uninstall'];
  const COMMENT = 'eks-hybrid-routes teardown of mi-026d6a261e355fba7';
  const sent = (overrides: Record<string, unknown> = {}): Command => ({
    CommandId: 'aaaaaaaa-0000-0000-0000-000000000001',
    DocumentName: 'AWS-RunShellScript',
    Comment: COMMENT,
    InstanceIds: [MI],
    Parameters: { commands: COMMANDS, executionTimeout: ['600'] },
    Status: 'InProgress',
    ...overrides,
  }) as Command;

  test('lists the executing AWS-RunShellScript commands (not by instance: a pending one would be missed), 50 per page', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });

    await expect(new SsmTeardownAdapter(client).findExecutingCommand(MI, COMMANDS, COMMENT)).resolves.toBeUndefined();

    expect(ssmMock.commandCalls(ListCommandsCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { key: 'ExecutionStage', value: 'Executing' },
        { key: 'DocumentName', value: 'AWS-RunShellScript' },
      ],
      MaxResults: 50,
    });
  });

  test('finds the command with the same instance, comment and commands, on a later page', async () => {
    ssmMock
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [sent({ CommandId: 'other-instance', InstanceIds: ['mi-0aa5b2b2f4f4e0c11'] })], NextToken: 'page-2' })
      .resolvesOnce({ Commands: [sent()] });

    await expect(new SsmTeardownAdapter(client).findExecutingCommand(MI, COMMANDS, COMMENT)).resolves.toBe('aaaaaaaa-0000-0000-0000-000000000001');
    expect(ssmMock.commandCalls(ListCommandsCommand)[1]!.args[0].input.NextToken).toBe('page-2');
  });

  test.each<[string, Record<string, unknown>]>([
    ['another instance', { InstanceIds: ['mi-0aa5b2b2f4f4e0c11'] }],
    ['another comment (someone else sent it)', { Comment: 'patching' }],
    ['other commands (another nodeadm path)', { Parameters: { commands: ['/opt/nodeadm uninstall'] } }],
    ['more commands', { Parameters: { commands: [...COMMANDS, 'reboot'] } }],
    ['no commands parameter', { Parameters: {} }],
    ['no command id', { CommandId: undefined }],
  ])('a command with %s is not the one', async (_label, overrides) => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [sent(overrides)] });
    await expect(new SsmTeardownAdapter(client).findExecutingCommand(MI, COMMANDS, COMMENT)).resolves.toBeUndefined();
  });

  test('the comment is compared as SendCommand stored it (cut to 100 characters)', async () => {
    const long = `eks-hybrid-routes teardown of ${'n'.repeat(120)}`;
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [sent({ Comment: long.slice(0, 100) })] });
    await expect(new SsmTeardownAdapter(client).findExecutingCommand(MI, COMMANDS, long)).resolves.toBe('aaaaaaaa-0000-0000-0000-000000000001');
  });

  test('a failed read propagates: the step fails rather than send a second command', async () => {
    const failure = ssmError('ThrottlingException');
    ssmMock.on(ListCommandsCommand).rejects(failure);
    await expect(new SsmTeardownAdapter(client).findExecutingCommand(MI, COMMANDS, COMMENT)).rejects.toBe(failure);
  });
});

describe('SsmTeardownAdapter.getCommandInvocation', () => {
  test('asks for the invocation on the instance and translates it', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      CommandId: 'cmd-0123',
      InstanceId: 'mi-1',
      DocumentName: 'AWS-RunShellScript',
      PluginName: 'aws:runShellScript',
      Status: 'Failed',
      StatusDetails: 'Failed',
      ResponseCode: 2,
      StandardOutputContent: 'uninstalling\n',
      StandardErrorContent: 'nodeadm: not found\n',
    });

    await expect(new SsmTeardownAdapter(client).getCommandInvocation('cmd-0123', 'mi-1')).resolves.toEqual({
      commandId: 'cmd-0123',
      instanceId: 'mi-1',
      status: 'Failed',
      statusDetails: 'Failed',
      responseCode: 2,
      standardOutput: 'uninstalling\n',
      standardError: 'nodeadm: not found\n',
    });
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({ CommandId: 'cmd-0123', InstanceId: 'mi-1' });
  });

  test('a sparse answer keeps the asked ids and an empty status (never a made-up one)', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({});

    const record = await new SsmTeardownAdapter(client).getCommandInvocation('cmd-0123', 'mi-1');

    expect(record).toEqual({ commandId: 'cmd-0123', instanceId: 'mi-1', status: '' });
    expect(record!.responseCode).toBeUndefined();
  });

  test('InvocationDoesNotExist: undefined', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(ssmError('InvocationDoesNotExist'));

    await expect(new SsmTeardownAdapter(client).getCommandInvocation('cmd-0123', 'mi-1')).resolves.toBeUndefined();
  });

  test('other errors propagate', async () => {
    const failure = ssmError('InvalidCommandId');
    ssmMock.on(GetCommandInvocationCommand).rejects(failure);

    await expect(new SsmTeardownAdapter(client).getCommandInvocation('cmd-0123', 'mi-1')).rejects.toBe(failure);
  });
});

describe("the reconciler's lookup, loaded on first use (lazyManagedInstanceLookup)", () => {
  test('loads the SSM adapter at the first call, with the Region and the project retry settings, and answers through it', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'mi-026d6a261e355fba7', PingStatus: 'Online' }] });
    const lookup = lazyManagedInstanceLookup({ region: 'eu-central-1' });
    expect(ssmMock.calls()).toHaveLength(0);

    await expect(lookup.describeManagedInstances(['mi-026d6a261e355fba7'])).resolves.toEqual([{ instanceId: 'mi-026d6a261e355fba7', pingStatus: 'Online' }]);
    await lookup.describeManagedInstances(['mi-026d6a261e355fba7']);

    expect(instanceIdFilterValues()).toEqual([['mi-026d6a261e355fba7'], ['mi-026d6a261e355fba7']]);
    const clients = new Set(ssmMock.calls().map((call) => call.thisValue as SSMClient));
    expect(clients.size).toBe(1); // one client for the container, built at the first call
    const [used] = clients;
    await expect(used!.config.region()).resolves.toBe('eu-central-1');
    expect(used!.config.retryMode).toBe('adaptive');
  });
});
