import { DescribeInstanceInformationCommand, SSMClient, SSMServiceException, type DescribeInstanceInformationCommandInput } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SsmManagedInstanceAdapter } from '../../../functions/adapters/ssm.js';

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
