import { DescribeClusterCommand, EKSClient, EKSServiceException, type Cluster } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { EksClusterAdapter } from '../../../functions/adapters/eks.js';

const eksMock = mockClient(EKSClient);
const client = new EKSClient({ region: 'us-west-2' });

const cluster: Cluster = {
  name: 'ekscluster1',
  arn: 'arn:aws:eks:us-west-2:111122223333:cluster/ekscluster1',
  status: 'ACTIVE',
  endpoint: 'https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com',
  certificateAuthority: { data: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==' },
  remoteNetworkConfig: {
    remoteNodeNetworks: [{ cidrs: ['10.20.0.0/16'] }, { cidrs: ['10.21.0.0/16', '10.22.0.0/16'] }],
    remotePodNetworks: [{ cidrs: ['10.30.0.0/16'] }, {}],
  },
};

function notFound(): EKSServiceException {
  return new EKSServiceException({ name: 'ResourceNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'No cluster found' });
}

beforeEach(() => {
  eksMock.reset();
});

describe('EksClusterAdapter', () => {
  test('translates DescribeCluster, flattening the remote networks', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster });

    await expect(new EksClusterAdapter(client).describeCluster('ekscluster1')).resolves.toEqual({
      name: 'ekscluster1',
      arn: 'arn:aws:eks:us-west-2:111122223333:cluster/ekscluster1',
      status: 'ACTIVE',
      endpoint: 'https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com',
      certificateAuthorityData: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==',
      remoteNetworks: {
        remoteNodeNetworks: ['10.20.0.0/16', '10.21.0.0/16', '10.22.0.0/16'],
        remotePodNetworks: ['10.30.0.0/16'],
      },
    });
    expect(eksMock).toHaveReceivedCommandWith(DescribeClusterCommand, { name: 'ekscluster1' });
  });

  test('a cluster without remoteNetworkConfig has empty remote networks', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { ...cluster, remoteNetworkConfig: undefined } });

    const info = await new EksClusterAdapter(client).describeCluster('ekscluster1');

    expect(info.remoteNetworks).toEqual({ remoteNodeNetworks: [], remotePodNetworks: [] });
  });

  test('a missing CA bundle is a clear error naming the field', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { ...cluster, certificateAuthority: {} } });

    await expect(new EksClusterAdapter(client).describeCluster('ekscluster1')).rejects.toThrow(
      'cluster ekscluster1 has no certificateAuthority.data',
    );
  });

  test('a missing endpoint is a clear error naming the field', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { ...cluster, endpoint: undefined } });

    await expect(new EksClusterAdapter(client).describeCluster('ekscluster1')).rejects.toThrow('cluster ekscluster1 has no endpoint');
  });

  test('a response without a cluster is an error', async () => {
    eksMock.on(DescribeClusterCommand).resolves({});

    await expect(new EksClusterAdapter(client).describeCluster('ekscluster1')).rejects.toThrow('no cluster for ekscluster1');
  });

  test('the answer is cached per cluster name: two describes, one call', async () => {
    eksMock
      .on(DescribeClusterCommand, { name: 'ekscluster1' })
      .resolves({ cluster })
      .on(DescribeClusterCommand, { name: 'ekscluster2' })
      .resolves({ cluster: { ...cluster, name: 'ekscluster2' } });
    const adapter = new EksClusterAdapter(client);

    const first = await adapter.describeCluster('ekscluster1');
    const second = await adapter.describeCluster('ekscluster1');
    const other = await adapter.describeCluster('ekscluster2');

    expect(second).toBe(first);
    expect(other.name).toBe('ekscluster2');
    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 2);
  });

  test('the cache lives in the instance: a new adapter asks again', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster });

    await new EksClusterAdapter(client).describeCluster('ekscluster1');
    await new EksClusterAdapter(client).describeCluster('ekscluster1');

    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 2);
  });

  test('concurrent first calls share one in-flight request', async () => {
    let answer!: (value: { cluster: Cluster }) => void;
    eksMock.on(DescribeClusterCommand).callsFake(() => new Promise((resolve) => (answer = resolve)));
    const adapter = new EksClusterAdapter(client);

    const first = adapter.describeCluster('ekscluster1');
    const second = adapter.describeCluster('ekscluster1');
    await new Promise((resolve) => setImmediate(resolve));
    answer({ cluster });

    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a.endpoint).toBe(cluster.endpoint);
    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 1);
  });

  test('a failed call is not cached: callers waiting on it fail, the next call asks again', async () => {
    const failure = notFound();
    eksMock.on(DescribeClusterCommand).rejectsOnce(failure).resolves({ cluster });
    const adapter = new EksClusterAdapter(client);

    const waiting = [adapter.describeCluster('ekscluster1'), adapter.describeCluster('ekscluster1')];
    await expect(waiting[0]).rejects.toBe(failure);
    await expect(waiting[1]).rejects.toBe(failure);
    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 1);

    await expect(adapter.describeCluster('ekscluster1')).resolves.toMatchObject({ endpoint: cluster.endpoint });
    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 2);
  });

  test('an unusable answer (no CA yet) is not cached either', async () => {
    eksMock
      .on(DescribeClusterCommand)
      .resolvesOnce({ cluster: { ...cluster, status: 'CREATING', certificateAuthority: undefined } })
      .resolves({ cluster });
    const adapter = new EksClusterAdapter(client);

    await expect(adapter.describeCluster('ekscluster1')).rejects.toThrow('certificateAuthority.data');
    await expect(adapter.describeCluster('ekscluster1')).resolves.toMatchObject({ status: 'ACTIVE' });
    expect(eksMock).toHaveReceivedCommandTimes(DescribeClusterCommand, 2);
  });
});

describe('EksClusterAdapter.forget', () => {
  test('the next describe after forget asks EKS again', async () => {
    const eks = mockClient(EKSClient);
    eks.on(DescribeClusterCommand).resolves({
      cluster: { name: 'lab', endpoint: 'https://example.invalid', certificateAuthority: { data: 'Q0E=' }, remoteNetworkConfig: { remoteNodeNetworks: [{ cidrs: ['10.20.0.0/16'] }], remotePodNetworks: [{ cidrs: ['10.30.0.0/16'] }] } },
    });
    const adapter = new EksClusterAdapter(new EKSClient({ region: 'us-west-2' }));
    await adapter.describeCluster('lab');
    await adapter.describeCluster('lab');
    expect(eks).toHaveReceivedCommandTimes(DescribeClusterCommand, 1);
    adapter.forget('lab');
    await adapter.describeCluster('lab');
    expect(eks).toHaveReceivedCommandTimes(DescribeClusterCommand, 2);
    eks.restore();
  });
});
