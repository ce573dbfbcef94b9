import { eksHandler } from '../../localcloud/eks.js';
import { AwsError, type AwsRequest, type AwsResponse } from '../../localcloud/protocol.js';
import { loadScenario } from '../../localcloud/scenario.js';
import type { CloudState } from '../../localcloud/state.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBlocal\n-----END CERTIFICATE-----\n';

function request(method: string, path: string, query = ''): AwsRequest {
  return { service: 'eks', method, path, query: new URLSearchParams(query), headers: {}, body: '', accessKeyId: 'AKIDLOCALCLOUD' };
}

async function serve(state: CloudState, req: AwsRequest): Promise<{ status: number; json: any; response: AwsResponse }> {
  let response: AwsResponse;
  let action = 'Unknown';
  try {
    action = eksHandler.actionOf(req);
    response = await eksHandler.handle(req, action, state);
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    response = eksHandler.errorResponse(error, action);
  }
  return { status: response.status, json: JSON.parse(response.body), response };
}

let state: CloudState;
beforeEach(() => {
  state = loadScenario();
  state.cluster.endpoint = 'https://127.0.0.1:6443';
  state.cluster.caPem = PEM;
});

describe('routing', () => {
  test('GET /clusters/{name} is DescribeCluster, GET /clusters is ListClusters', () => {
    expect(eksHandler.actionOf(request('GET', '/clusters/ekscluster1'))).toBe('DescribeCluster');
    expect(eksHandler.actionOf(request('GET', '/clusters'))).toBe('ListClusters');
  });

  test.each([
    ['DELETE', '/clusters/ekscluster1'],
    ['GET', '/clusters/ekscluster1/node-groups/x'],
    ['GET', '/'],
  ])('%s %s is an unknown operation (404)', async (method, path) => {
    const { status, json, response } = await serve(state, request(method, path));
    expect(status).toBe(404);
    expect(response.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    expect(json.message).toEqual(expect.any(String));
  });
});

describe('DescribeCluster', () => {
  test('answers the Cluster shape the SDK and the adapter read', async () => {
    const { status, json, response } = await serve(state, request('GET', '/clusters/ekscluster1'));
    expect(status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(json.cluster).toMatchObject({
      name: 'ekscluster1',
      arn: 'arn:aws:eks:us-west-2:123456789012:cluster/ekscluster1',
      status: 'ACTIVE',
      version: '1.31',
      endpoint: 'https://127.0.0.1:6443',
      remoteNetworkConfig: { remoteNodeNetworks: [{ cidrs: ['10.20.0.0/16'] }], remotePodNetworks: [{ cidrs: ['10.30.0.0/16'] }] },
      accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
      resourcesVpcConfig: { vpcId: 'vpc-0e0e0e0e0e0e0e0e1' },
    });
    expect(Buffer.from(json.cluster.certificateAuthority.data, 'base64').toString('utf8')).toBe(PEM);
    expect(typeof json.cluster.createdAt).toBe('number');
  });

  test('the cluster name in the path is URL-decoded', async () => {
    state.cluster.name = 'lab_cluster-1';
    expect((await serve(state, request('GET', '/clusters/lab%5Fcluster-1'))).json.cluster.name).toBe('lab_cluster-1');
  });

  test('before the Kubernetes API is up the cluster has no endpoint or CA, like one still CREATING', async () => {
    state.cluster.endpoint = '';
    state.cluster.caPem = '';
    const { json } = await serve(state, request('GET', '/clusters/ekscluster1'));
    expect(json.cluster.status).toBe('CREATING');
    expect(json.cluster.endpoint).toBeUndefined();
    expect(json.cluster.certificateAuthority).toBeUndefined();
  });

  test('an unknown cluster is ResourceNotFoundException (404) in the x-amzn-errortype header', async () => {
    const { status, json, response } = await serve(state, request('GET', '/clusters/other'));
    expect(status).toBe(404);
    expect(response.headers['x-amzn-errortype']).toBe('ResourceNotFoundException');
    expect(json).toEqual({ message: 'No cluster found for name: other.' });
  });
});

describe('ListClusters', () => {
  test('lists the one cluster; maxResults outside 1–100 is InvalidParameterException', async () => {
    expect((await serve(state, request('GET', '/clusters'))).json).toEqual({ clusters: ['ekscluster1'] });
    const bad = await serve(state, request('GET', '/clusters', 'maxResults=101'));
    expect([bad.status, bad.response.headers['x-amzn-errortype']]).toEqual([400, 'InvalidParameterException']);
  });
});
