import { KubeConfig } from '@kubernetes/client-node';
import { EC2Client, DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
test('smoke', async () => {
  const m = mockClient(EC2Client);
  m.on(DescribeRouteTablesCommand).resolves({ RouteTables: [] });
  const c = new EC2Client({ region: 'us-west-2' });
  await c.send(new DescribeRouteTablesCommand({}));
  expect(m).toHaveReceivedCommandTimes(DescribeRouteTablesCommand, 1);
  expect(new KubeConfig()).toBeDefined();
  expect(process.version).toMatch(/^v22/);
});
