/**
 * The local cloud's fault and latency injection (test/localcloud/faults.ts), directly: which calls a rule
 * matches (service, action), how `times` and `afterCalls` count, the ranges `delayMs` draws from, and what
 * `intercept` does with each kind of fault.
 *
 * The injected behaviours stand in for what the AWS SDKs are built to survive:
 * AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 * AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API (server errors: 5xx) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 */
import { jest } from '@jest/globals';
import { FaultInjector } from '../../localcloud/faults.js';

/** The kinds `take` hands out for a sequence of calls (undefined = no fault). */
function kinds(faults: FaultInjector, calls: [service: string, action: string][]) {
  return calls.map(([service, action]) => faults.take(service, action)?.kind);
}

const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

// AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
describe('FaultInjector.take: matching and counting', () => {
  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('a rule with service and action hits only that action of that service', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', action: 'DescribeRouteTables', kind: 'error', status: 500, code: 'InternalError' });
    expect(kinds(faults, [['ec2', 'DescribeRouteTables'], ['ec2', 'DescribeNetworkInterfaces'], ['ssm', 'DescribeRouteTables'], ['ec2', 'DescribeRouteTables']])).toEqual([
      'error',
      undefined,
      undefined,
      'error',
    ]);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('no action = every action of the service; no service = every service', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'kubernetes', kind: 'reset' });
    expect(kinds(faults, [['kubernetes', 'list ciliumnodes'], ['kubernetes', 'get version'], ['ec2', 'CreateRoute']])).toEqual(['reset', 'reset', undefined]);
    const everywhere = new FaultInjector();
    everywhere.addFault({ kind: 'timeout' });
    expect(kinds(everywhere, [['ec2', 'CreateRoute'], ['sts', 'AssumeRole'], ['kubernetes', 'list ciliumnodes']])).toEqual(['timeout', 'timeout', 'timeout']);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (a transient error that clears) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('times: n affects the next n matching calls, then the rule is spent', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', action: 'CreateRoute', kind: 'error', times: 2 });
    expect(kinds(faults, [['ec2', 'CreateRoute'], ['ec2', 'DeleteRoute'], ['ec2', 'CreateRoute'], ['ec2', 'CreateRoute']])).toEqual([
      'error',
      undefined,
      'error',
      undefined,
    ]);
    expect(faults.active('ec2', 'error')).toBe(false);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('afterCalls: n lets n matching calls through first; calls to other actions do not count', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', action: 'CreateRoute', kind: 'error', afterCalls: 2 });
    expect(
      kinds(faults, [['ec2', 'CreateRoute'], ['ec2', 'DescribeRouteTables'], ['ec2', 'CreateRoute'], ['ec2', 'CreateRoute'], ['ec2', 'CreateRoute']]),
    ).toEqual([undefined, undefined, undefined, 'error', 'error']);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('afterCalls and times together: a window of failures after a healthy start', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', action: 'CreateRoute', kind: 'error', afterCalls: 1, times: 2 });
    expect(kinds(faults, times(5, ['ec2', 'CreateRoute'] as [string, string]))).toEqual([undefined, 'error', 'error', undefined, undefined]);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('the first live rule in insertion order wins; a spent rule falls through to the next', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', kind: 'error', code: 'InternalError', times: 1 });
    faults.addFault({ service: 'ec2', kind: 'error', code: 'RequestLimitExceeded' });
    expect([1, 2, 3].map(() => faults.take('ec2', 'CreateRoute')?.code)).toEqual(['InternalError', 'RequestLimitExceeded', 'RequestLimitExceeded']);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('active() reports a live rule of a kind for a service; clear() removes faults and latency', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'kubernetes', kind: 'wrong-ca' });
    faults.setLatency([{ service: 'ec2', fixedMs: 100 }]);
    expect(faults.active('kubernetes', 'wrong-ca')).toBe(true);
    expect(faults.active('ec2', 'wrong-ca')).toBe(false);
    expect(faults.active('kubernetes', 'reset')).toBe(false);
    expect(faults.list()).toEqual({ faults: [{ service: 'kubernetes', kind: 'wrong-ca' }], latency: [{ service: 'ec2', fixedMs: 100 }] });
    faults.clear();
    expect(faults.active('kubernetes', 'wrong-ca')).toBe(false);
    expect(faults.list()).toEqual({ faults: [], latency: [] });
    expect(faults.delayMs('ec2', 'CreateRoute')).toBe(0);
  });
});

// AWS: AWS SDKs and Tools Reference Guide, Retry behavior (timeouts, backoff) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
describe('FaultInjector.delayMs: latency rules', () => {
  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('a fixed delay applies to its service and action only; no rule means no delay', () => {
    const faults = new FaultInjector();
    faults.setLatency([{ service: 'ec2', action: 'DescribeRouteTables', fixedMs: 150 }]);
    expect(faults.delayMs('ec2', 'DescribeRouteTables')).toBe(150);
    expect(faults.delayMs('ec2', 'DescribeNetworkInterfaces')).toBe(0);
    expect(faults.delayMs('ssm', 'DescribeRouteTables')).toBe(0);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('a {minMs, maxMs} rule draws uniformly within [minMs, maxMs]', () => {
    const faults = new FaultInjector();
    faults.setLatency([{ service: 'ec2', minMs: 40, maxMs: 80 }]);
    const random = jest.spyOn(Math, 'random');
    random.mockReturnValueOnce(0).mockReturnValueOnce(0.5).mockReturnValueOnce(0.999_999);
    expect(faults.delayMs('ec2', 'CreateRoute')).toBe(40);
    expect(faults.delayMs('ec2', 'CreateRoute')).toBe(60);
    expect(faults.delayMs('ec2', 'CreateRoute')).toBeCloseTo(80, 3);
    random.mockRestore();
    for (let i = 0; i < 200; i++) {
      const d = faults.delayMs('ec2', 'DeleteRoute');
      expect(d).toBeGreaterThanOrEqual(40);
      expect(d).toBeLessThanOrEqual(80);
    }
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('fixedMs wins over a range; minMs alone is fixed; maxMs alone ranges from 0; the first matching rule wins', () => {
    const faults = new FaultInjector();
    faults.setLatency([
      { service: 'ec2', action: 'CreateRoute', fixedMs: 10, minMs: 500, maxMs: 900 },
      { service: 'ec2', action: 'DeleteRoute', minMs: 25 },
      { service: 'ec2', action: 'ReplaceRoute', maxMs: 30 },
      { service: 'ec2', fixedMs: 7 },
      { service: 'ec2', action: 'DescribeInstances', fixedMs: 999 },
    ]);
    expect(faults.delayMs('ec2', 'CreateRoute')).toBe(10);
    expect(faults.delayMs('ec2', 'DeleteRoute')).toBe(25);
    for (let i = 0; i < 50; i++) {
      const d = faults.delayMs('ec2', 'ReplaceRoute');
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(30);
    }
    expect(faults.delayMs('ec2', 'DescribeInstances')).toBe(7);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('setLatency replaces the rules; it does not add to them', () => {
    const faults = new FaultInjector();
    faults.setLatency([{ service: 'ec2', fixedMs: 100 }]);
    faults.setLatency([{ service: 'ssm', fixedMs: 5 }]);
    expect(faults.delayMs('ec2', 'CreateRoute')).toBe(0);
    expect(faults.delayMs('ssm', 'SendCommand')).toBe(5);
  });
});

// AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
describe('FaultInjector.intercept: what each kind does to the call', () => {
  const socket = () => ({ destroy: jest.fn() });

  // AWS: Amazon EC2 API Reference, Error codes for the Amazon EC2 API (server errors) — https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
  test('error: handed back for the server to render; nothing recorded here, the socket untouched', async () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', kind: 'error', status: 500, code: 'InternalError' });
    const s = socket();
    const record = jest.fn();
    await expect(faults.intercept('ec2', 'CreateRoute', s, record)).resolves.toEqual({ kind: 'error', fault: expect.objectContaining({ status: 500, code: 'InternalError' }) });
    expect(record).not.toHaveBeenCalled();
    expect(s.destroy).not.toHaveBeenCalled();
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (timeouts) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('timeout: never answered, recorded as status 0 "Timeout"', async () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', kind: 'timeout' });
    const s = socket();
    const record = jest.fn();
    await expect(faults.intercept('ec2', 'CreateRoute', s, record)).resolves.toEqual({ kind: 'dropped' });
    expect(record).toHaveBeenCalledWith(0, 'Timeout');
    expect(s.destroy).not.toHaveBeenCalled();
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior (connection errors) — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('reset: the socket is destroyed, recorded as status 0 "ConnectionReset"', async () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'ec2', kind: 'reset' });
    const s = socket();
    const record = jest.fn();
    await expect(faults.intercept('ec2', 'CreateRoute', s, record)).resolves.toEqual({ kind: 'dropped' });
    expect(record).toHaveBeenCalledWith(0, 'ConnectionReset');
    expect(s.destroy).toHaveBeenCalledTimes(1);
  });

  // AWS: AWS SDKs and Tools Reference Guide, Retry behavior — https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
  test('no matching fault: pass; the latency is waited first (lower bound only); an abort ends the wait', async () => {
    const faults = new FaultInjector();
    faults.setLatency([{ service: 'ec2', action: 'CreateRoute', fixedMs: 60 }]);
    const started = performance.now();
    await expect(faults.intercept('ec2', 'CreateRoute', socket(), jest.fn())).resolves.toEqual({ kind: 'pass' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);

    faults.setLatency([{ service: 'ec2', action: 'CreateRoute', fixedMs: 60_000 }]);
    const abort = new AbortController();
    const pending = faults.intercept('ec2', 'CreateRoute', socket(), jest.fn(), abort.signal);
    abort.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('empty rules (a Kubernetes list answered with no items)', () => {
  test('match list actions only: other calls neither get the rule nor count against times/afterCalls', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'kubernetes', kind: 'empty', afterCalls: 1, times: 2 });
    expect(
      kinds(faults, [
        ['kubernetes', 'list ciliumnodes'],
        ['kubernetes', 'get nodes'],
        ['kubernetes', 'create pods/eviction'],
        ['kubernetes', 'list nodes'],
        ['kubernetes', 'patch nodes'],
        ['kubernetes', 'list pods'],
        ['kubernetes', 'list ciliumnodes'],
      ]),
    ).toEqual([undefined, undefined, undefined, 'empty', undefined, 'empty', undefined]);
  });

  test('intercept hands an empty fault back for the server to answer; nothing recorded, the socket untouched', async () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'empty', times: 1 });
    const s = { destroy: jest.fn() };
    const record = jest.fn();
    await expect(faults.intercept('kubernetes', 'list ciliumnodes', s, record)).resolves.toEqual({ kind: 'empty', fault: expect.objectContaining({ kind: 'empty' }) });
    await expect(faults.intercept('kubernetes', 'list ciliumnodes', s, record)).resolves.toEqual({ kind: 'pass' }); // times: 1
    expect(record).not.toHaveBeenCalled();
    expect(s.destroy).not.toHaveBeenCalled();
  });
});

describe('wrong-ca rules', () => {
  test('a wrong-ca rule never matches a request, so an error fault behind it still applies', () => {
    const faults = new FaultInjector();
    faults.addFault({ service: 'kubernetes', kind: 'wrong-ca' });
    faults.addFault({ service: 'kubernetes', action: 'list ciliumnodes', kind: 'error', status: 500 });
    expect(faults.take('kubernetes', 'list ciliumnodes')).toMatchObject({ kind: 'error', status: 500 });
    expect(faults.take('kubernetes', 'get version')).toBeUndefined();
    expect(faults.active('kubernetes', 'wrong-ca')).toBe(true);
  });
});
