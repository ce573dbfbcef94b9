/**
 * The local cloud's EC2 token buckets (test/localcloud/throttle.ts) on an injected clock: bucket sizes,
 * refill rates, the cap at the bucket size, one bucket per action, the switch.
 *
 * AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API —
 * https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html ("each API is evaluated individually";
 * "the bucket can't hold more than its maximum number of tokens"; refill "a set number of tokens every second").
 */
import { EC2_BUCKETS, TokenBuckets } from '../../localcloud/throttle.js';

/** A clock the test moves by hand (milliseconds, like performance.now()). */
function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** How many of `attempts` back-to-back calls get a token. */
function takeMany(buckets: TokenBuckets, action: string, attempts: number): number {
  let granted = 0;
  for (let i = 0; i < attempts; i++) if (buckets.take(action)) granted++;
  return granted;
}

function enabledBuckets() {
  const c = clock();
  return { c, buckets: new TokenBuckets(true, EC2_BUCKETS, c.now) };
}

// AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (request token bucket sizes and refill rates) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
test('the documented bucket sizes and refill rates for the actions the project calls', () => {
  expect(EC2_BUCKETS).toMatchObject({
    CreateRoute: { size: 50, refillPerSecond: 5 },
    ReplaceRoute: { size: 50, refillPerSecond: 5 },
    DeleteRoute: { size: 50, refillPerSecond: 5 },
    DescribeRouteTables: { size: 100, refillPerSecond: 20 },
    DescribeNetworkInterfaces: { size: 100, refillPerSecond: 20 },
    ModifyNetworkInterfaceAttribute: { size: 100, refillPerSecond: 5 },
  });
});

// AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
describe('Request throttling for the Amazon EC2 API: token buckets', () => {
  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (CreateRoute: bucket 50, refill 5/s) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('CreateRoute: a full bucket of 50, then 5 more after one second, then none', () => {
    const { c, buckets } = enabledBuckets();
    expect(takeMany(buckets, 'CreateRoute', 50)).toBe(50);
    expect(buckets.take('CreateRoute')).toBe(false);
    c.advance(1_000);
    expect(takeMany(buckets, 'CreateRoute', 10)).toBe(5);
    c.advance(1_000);
    expect(takeMany(buckets, 'CreateRoute', 10)).toBe(5);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (DescribeRouteTables: bucket 100, refill 20/s) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('DescribeRouteTables: 100, then 20 more after one second', () => {
    const { c, buckets } = enabledBuckets();
    expect(takeMany(buckets, 'DescribeRouteTables', 150)).toBe(100);
    c.advance(1_000);
    expect(takeMany(buckets, 'DescribeRouteTables', 50)).toBe(20);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (DescribeNetworkInterfaces 100/20; ModifyNetworkInterfaceAttribute 100/5) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('DescribeNetworkInterfaces 100 then 20/s; ModifyNetworkInterfaceAttribute 100 then 5/s', () => {
    const { c, buckets } = enabledBuckets();
    expect(takeMany(buckets, 'DescribeNetworkInterfaces', 120)).toBe(100);
    expect(takeMany(buckets, 'ModifyNetworkInterfaceAttribute', 120)).toBe(100);
    c.advance(1_000);
    expect(takeMany(buckets, 'DescribeNetworkInterfaces', 50)).toBe(20);
    expect(takeMany(buckets, 'ModifyNetworkInterfaceAttribute', 50)).toBe(5);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (refill tokens are usable as they arrive) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('refill is continuous: at 5/s a token is back after 200 ms, not before', () => {
    const { c, buckets } = enabledBuckets();
    takeMany(buckets, 'ReplaceRoute', 50);
    c.advance(100);
    expect(buckets.take('ReplaceRoute')).toBe(false);
    c.advance(100);
    expect(buckets.take('ReplaceRoute')).toBe(true);
    expect(buckets.take('ReplaceRoute')).toBe(false);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API (a bucket never holds more than its maximum) — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('never above the bucket size, however long the wait', () => {
    const { c, buckets } = enabledBuckets();
    takeMany(buckets, 'CreateRoute', 30);
    c.advance(3_600_000);
    expect(takeMany(buckets, 'CreateRoute', 80)).toBe(50);
    c.advance(3_600_000);
    expect(takeMany(buckets, 'DescribeRouteTables', 150)).toBe(100);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API ("each API is evaluated individually") — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('one bucket per action: draining CreateRoute leaves DeleteRoute and ReplaceRoute full', () => {
    const { buckets } = enabledBuckets();
    expect(takeMany(buckets, 'CreateRoute', 60)).toBe(50);
    expect(takeMany(buckets, 'DeleteRoute', 60)).toBe(50);
    expect(takeMany(buckets, 'ReplaceRoute', 60)).toBe(50);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('actions without a modelled bucket are not throttled', () => {
    const { buckets } = enabledBuckets();
    expect(takeMany(buckets, 'DescribeVpcs', 1_000)).toBe(1_000);
  });

  // AWS: Amazon EC2 Developer Guide, Request throttling for the Amazon EC2 API — https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
  test('disabled (the default) means unthrottled; the switch works at run time; reset refills', () => {
    const c = clock();
    const buckets = new TokenBuckets(undefined, EC2_BUCKETS, c.now);
    expect(buckets.enabled).toBe(false);
    expect(takeMany(buckets, 'CreateRoute', 500)).toBe(500);
    buckets.enabled = true;
    expect(takeMany(buckets, 'CreateRoute', 60)).toBe(50);
    buckets.enabled = false;
    expect(takeMany(buckets, 'CreateRoute', 60)).toBe(60);
    buckets.enabled = true;
    expect(buckets.take('CreateRoute')).toBe(false);
    buckets.reset();
    expect(takeMany(buckets, 'CreateRoute', 60)).toBe(50);
  });
});
