import {
  type ConfigLabels,
  ENV_LABELS,
  type RawControllerConfig,
  parseControllerConfig,
  rawConfigFromEnv,
} from '../../../functions/core/config.js';
import { ConfigError } from '../../../functions/core/errors.js';
import { CLI_LABELS } from '../../../functions/cli/labels.js';
import { DEFAULT_GUARD_OPTIONS } from '../../../functions/core/types.js';


const RTB = 'rtb-0123456789abcdef0';
const RTB2 = 'rtb-0fedcba987654321f';
const ROLE = 'arn:aws:iam::123456789012:role/eks-hybrid-routes-reader';
const minimal: RawControllerConfig = { clusterName: 'lab', routeTableIds: RTB };

function configError(raw: RawControllerConfig, labels: ConfigLabels): ConfigError {
  try {
    parseControllerConfig(raw, labels);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(raw)}`);
}

describe('parseControllerConfig: valid input', () => {
  test('the minimal configuration gets the defaults', () => {
    const config = parseControllerConfig(minimal, ENV_LABELS);
    expect(config).toEqual({
      clusterName: 'lab',
      routeTables: { kind: 'ids', routeTableIds: [RTB] },
      scope: {},
      guards: DEFAULT_GUARD_OPTIONS,
      applyConcurrency: 4,
    });
    expect(config).not.toHaveProperty('region');
    expect(config).not.toHaveProperty('vpcId');
    expect(config).not.toHaveProperty('readerRoleArn');
  });

  test('every option set', () => {
    const config = parseControllerConfig(
      {
        clusterName: 'hybrid-lab_1',
        region: 'us-west-2',
        routeTableTag: 'eks-hybrid-routes/cluster=hybrid-lab_1',
        vpcId: 'vpc-0a1b2c3d4e5f60001',
        readerRoleArn: ROLE,
        podNetworks: '10.30.0.0/17, 10.30.128.0/18',
        nodeNetworks: '10.20.1.0/24',
        maxDeleteFraction: '0.25',
        minDeleteBudget: '5',
        allowEmpty: 'true',
        force: 'no',
        applyConcurrency: '8',
      },
      ENV_LABELS,
    );
    expect(config).toEqual({
      clusterName: 'hybrid-lab_1',
      region: 'us-west-2',
      routeTables: { kind: 'tag', key: 'eks-hybrid-routes/cluster', value: 'hybrid-lab_1' },
      vpcId: 'vpc-0a1b2c3d4e5f60001',
      readerRoleArn: ROLE,
      scope: { podNetworks: ['10.30.0.0/17', '10.30.128.0/18'], nodeNetworks: ['10.20.1.0/24'], labels: { podNetworks: 'POD_NETWORKS', nodeNetworks: 'NODE_NETWORKS' } },
      guards: { allowEmpty: true, force: false, maxDeleteFraction: 0.25, minDeleteBudget: 5 },
      applyConcurrency: 8,
    });
  });

  test.each<[string, string, string[]]>([
    ['one id', RTB, [RTB]],
    ['two ids', `${RTB},${RTB2}`, [RTB, RTB2]],
    ['spaces and empty items', ` ${RTB} , ,${RTB2}, `, [RTB, RTB2]],
    ['duplicates removed', `${RTB},${RTB2},${RTB}`, [RTB, RTB2]],
    ['short (8 hex) id', 'rtb-0123abcd', ['rtb-0123abcd']],
  ])('route table ids: %s', (_name, text, expected) => {
    expect(parseControllerConfig({ clusterName: 'lab', routeTableIds: text }, ENV_LABELS).routeTables).toEqual({ kind: 'ids', routeTableIds: expected });
  });

  test.each<[string, { key: string; value: string }]>([
    ['eks-hybrid-routes/cluster=lab', { key: 'eks-hybrid-routes/cluster', value: 'lab' }],
    [' Role = tgw-subnet ', { key: 'Role', value: 'tgw-subnet' }],
    ['managed=', { key: 'managed', value: '' }],
    ['k=a=b', { key: 'k', value: 'a=b' }],
  ])('route table tag %j', (text, expected) => {
    expect(parseControllerConfig({ clusterName: 'lab', routeTableTag: text }, ENV_LABELS).routeTables).toEqual({ kind: 'tag', ...expected });
  });

  test.each<[string | boolean, boolean]>([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['Yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['NO', false],
    [true, true],
    [false, false],
  ])('flag %p → %p (allowEmpty and force)', (value, expected) => {
    const config = parseControllerConfig({ ...minimal, allowEmpty: value, force: value }, CLI_LABELS);
    expect(config.guards.allowEmpty).toBe(expected);
    expect(config.guards.force).toBe(expected);
  });

  test.each<[keyof RawControllerConfig, string, (config: ReturnType<typeof parseControllerConfig>) => unknown, unknown]>([
    ['maxDeleteFraction', '0', (c) => c.guards.maxDeleteFraction, 0],
    ['maxDeleteFraction', '1', (c) => c.guards.maxDeleteFraction, 1],
    ['maxDeleteFraction', '0.1', (c) => c.guards.maxDeleteFraction, 0.1],
    ['minDeleteBudget', '0', (c) => c.guards.minDeleteBudget, 0],
    ['minDeleteBudget', '100000', (c) => c.guards.minDeleteBudget, 100000],
    ['applyConcurrency', '1', (c) => c.applyConcurrency, 1],
    ['applyConcurrency', '50', (c) => c.applyConcurrency, 50],
    ['region', 'us-gov-west-1', (c) => c.region, 'us-gov-west-1'],
    ['region', 'ap-southeast-4', (c) => c.region, 'ap-southeast-4'],
    ['readerRoleArn', 'arn:aws-cn:iam::123456789012:role/reader', (c) => c.readerRoleArn, 'arn:aws-cn:iam::123456789012:role/reader'],
    ['readerRoleArn', 'arn:aws-us-gov:iam::123456789012:role/path/to/reader', (c) => c.readerRoleArn, 'arn:aws-us-gov:iam::123456789012:role/path/to/reader'],
    ['vpcId', 'vpc-0123abcd', (c) => c.vpcId, 'vpc-0123abcd'],
    ['podNetworks', 'fd00:30::/56', (c) => c.scope.podNetworks, ['fd00:30::/56']],
    ['nodeNetworks', '10.20.0.0/16,fd00:20::/56', (c) => c.scope.nodeNetworks, ['10.20.0.0/16', 'fd00:20::/56']],
  ])('%s = %j is accepted', (key, value, read, expected) => {
    expect(read(parseControllerConfig({ ...minimal, [key]: value }, ENV_LABELS))).toEqual(expected);
  });

  test.each([['a'], ['lab'], ['Hybrid-Lab_2'], ['9lives'], ['x'.repeat(100)]])('cluster name %j is accepted', (name) => {
    expect(parseControllerConfig({ ...minimal, clusterName: name }, ENV_LABELS).clusterName).toBe(name);
  });
});

describe('parseControllerConfig: bad input is named by the label the user knows', () => {
  type Bad = [string, RawControllerConfig, keyof RawControllerConfig | 'selector', RegExp];
  const bad: Bad[] = [
    ['no cluster', { routeTableIds: RTB }, 'clusterName', /is required/],
    ['cluster starting with -', { ...minimal, clusterName: '-lab' }, 'clusterName', /EKS cluster name/],
    ['cluster with a space', { ...minimal, clusterName: 'my lab' }, 'clusterName', /EKS cluster name/],
    ['cluster too long', { ...minimal, clusterName: 'x'.repeat(101) }, 'clusterName', /EKS cluster name/],
    ['empty cluster', { ...minimal, clusterName: '' }, 'clusterName', /EKS cluster name/],
    ['neither ids nor tag', { clusterName: 'lab' }, 'selector', /exactly one/],
    ['both ids and tag', { ...minimal, routeTableTag: 'a=b' }, 'selector', /exactly one/],
    ['route table id too short', { ...minimal, routeTableIds: 'rtb-0123' }, 'routeTableIds', /rtb-0123456789abcdef0/],
    ['route table id in capitals', { ...minimal, routeTableIds: 'rtb-0123456789ABCDEF0' }, 'routeTableIds', /rtb-/],
    ['a subnet id', { ...minimal, routeTableIds: `${RTB},subnet-0123456789abcdef0` }, 'routeTableIds', /rtb-/],
    ['route table ids all blank', { ...minimal, routeTableIds: ' , ' }, 'routeTableIds', /at least one/],
    ['tag without =', { clusterName: 'lab', routeTableTag: 'managed' }, 'routeTableTag', /key=value/],
    ['tag with empty key', { clusterName: 'lab', routeTableTag: '=lab' }, 'routeTableTag', /key=value/],
    ['tag with blank key', { clusterName: 'lab', routeTableTag: '  =lab' }, 'routeTableTag', /tag key is empty/],
    ['vpc id too short', { ...minimal, vpcId: 'vpc-123' }, 'vpcId', /vpc-/],
    ['vpc id not hex', { ...minimal, vpcId: 'vpc-0123456789abcdefg' }, 'vpcId', /vpc-/],
    ['role ARN with an 11-digit account', { ...minimal, readerRoleArn: 'arn:aws:iam::12345678901:role/reader' }, 'readerRoleArn', /IAM role ARN/],
    ['user ARN', { ...minimal, readerRoleArn: 'arn:aws:iam::123456789012:user/reader' }, 'readerRoleArn', /IAM role ARN/],
    ['role name only', { ...minimal, readerRoleArn: 'reader' }, 'readerRoleArn', /IAM role ARN/],
    ['fraction above 1', { ...minimal, maxDeleteFraction: '1.5' }, 'maxDeleteFraction', /0 to 1/],
    ['negative fraction', { ...minimal, maxDeleteFraction: '-0.1' }, 'maxDeleteFraction', /0 to 1/],
    ['fraction as a percentage', { ...minimal, maxDeleteFraction: '50%' }, 'maxDeleteFraction', /./],
    ['fraction not a number', { ...minimal, maxDeleteFraction: 'half' }, 'maxDeleteFraction', /./],
    ['budget negative', { ...minimal, minDeleteBudget: '-1' }, 'minDeleteBudget', /./],
    ['budget fractional', { ...minimal, minDeleteBudget: '1.5' }, 'minDeleteBudget', /whole number/],
    ['budget too large', { ...minimal, minDeleteBudget: '100001' }, 'minDeleteBudget', /./],
    ['budget not a number', { ...minimal, minDeleteBudget: 'three' }, 'minDeleteBudget', /./],
    ['flag maybe', { ...minimal, allowEmpty: 'maybe' }, 'allowEmpty', /./],
    ['flag on', { ...minimal, force: 'on' }, 'force', /./],
    ['pod network junk', { ...minimal, podNetworks: '10.30.0.0/17,junk' }, 'podNetworks', /CIDR/],
    ['pod network with host bits', { ...minimal, podNetworks: '10.30.0.1/16' }, 'podNetworks', /CIDR/],
    // A list that is set but holds nothing would lift the narrowing altogether.
    ['pod networks set to a lone comma', { ...minimal, podNetworks: ' , ' }, 'podNetworks', /at least one network, or leave it unset/],
    ['node networks set to a lone comma', { ...minimal, nodeNetworks: ',' }, 'nodeNetworks', /at least one network, or leave it unset/],
    ['node network junk', { ...minimal, nodeNetworks: '10.20.0.0/33' }, 'nodeNetworks', /CIDR/],
    ['concurrency 0', { ...minimal, applyConcurrency: '0' }, 'applyConcurrency', /./],
    ['concurrency 51', { ...minimal, applyConcurrency: '51' }, 'applyConcurrency', /./],
    ['concurrency fractional', { ...minimal, applyConcurrency: '2.5' }, 'applyConcurrency', /whole number/],
    ['region in capitals', { ...minimal, region: 'US-WEST-2' }, 'region', /AWS Region/],
    ['region without dashes', { ...minimal, region: 'uswest2' }, 'region', /AWS Region/],
  ];

  const labelled = (labels: ConfigLabels, key: Bad[2]) =>
    key === 'selector' ? `${labels.routeTableIds} / ${labels.routeTableTag}` : labels[key];

  describe.each([
    ['environment', ENV_LABELS],
    ['command line', CLI_LABELS],
  ])('%s labels', (_kind, labels) => {
    test.each(bad)('%s', (_name, raw, key, message) => {
      const error = configError(raw, labels);
      expect(error.field).toBe(labelled(labels, key));
      expect(error.message.startsWith(`${labelled(labels, key)}: `)).toBe(true);
      expect(error.message).toMatch(message);
    });
  });

  test('the error quotes the bad value', () => {
    expect(configError({ ...minimal, routeTableIds: 'rtb-0123' }, ENV_LABELS).message).toContain('(got "rtb-0123")');
    expect(configError({ ...minimal, podNetworks: '10.30.0.0/17,junk' }, CLI_LABELS).message).toContain('junk');
  });

  // A blank value is a mistake, not a zero: MIN_DELETE_BUDGET=" " must not silently lower the guard.
  test.each<[string, RawControllerConfig, keyof RawControllerConfig]>([
    ['blank fraction (CLI)', { ...minimal, maxDeleteFraction: '' }, 'maxDeleteFraction'],
    ['whitespace fraction', { ...minimal, maxDeleteFraction: ' ' }, 'maxDeleteFraction'],
    ['whitespace budget', { ...minimal, minDeleteBudget: ' ' }, 'minDeleteBudget'],
    ['blank budget (CLI)', { ...minimal, minDeleteBudget: '' }, 'minDeleteBudget'],
  ])('%s is rejected, not read as 0', (_name, raw, key) => {
    expect(configError(raw, CLI_LABELS).field).toBe(CLI_LABELS[key]);
  });
});

describe('rawConfigFromEnv', () => {
  test('reads each variable of ENV_LABELS into its field, FORCE aside', () => {
    const env = Object.fromEntries(Object.entries(ENV_LABELS).filter(([field]) => field !== 'force').map(([field, name]) => [name, `value-of-${field}`]));
    const raw = rawConfigFromEnv(env);
    for (const field of Object.keys(ENV_LABELS).filter((name) => name !== 'force')) expect(raw[field as keyof RawControllerConfig]).toBe(`value-of-${field}`);
    expect(raw.force).toBeUndefined();
  });

  test.each(['true', 'false', 'yes', ' '])('FORCE=%j in the environment is refused, naming FORCE: a deployed controller never lifts its budget', (value) => {
    expect(() => rawConfigFromEnv({ CLUSTER_NAME: 'lab', FORCE: value })).toThrow(ConfigError);
    expect(() => rawConfigFromEnv({ CLUSTER_NAME: 'lab', FORCE: value })).toThrow(/^FORCE: is not read from the environment.*apply --force/);
  });

  test.each<[string, Record<string, string | undefined>, RawControllerConfig]>([
    ['empty environment', {}, {}],
    ['unrelated variables are ignored', { PATH: '/usr/bin', AWS_DEFAULT_REGION: 'eu-west-1', CLUSTER: 'x' }, {}],
    ['empty strings count as unset', { CLUSTER_NAME: 'lab', ROUTE_TABLE_TAG: '', ROUTE_TABLE_IDS: RTB }, { clusterName: 'lab', routeTableIds: RTB }],
    ['undefined counts as unset', { CLUSTER_NAME: 'lab', FORCE: undefined }, { clusterName: 'lab' }],
    ['values are passed through untouched', { POD_NETWORKS: ' 10.30.0.0/17 , ', ALLOW_EMPTY: 'TRUE' }, { podNetworks: ' 10.30.0.0/17 , ', allowEmpty: 'TRUE' }],
  ])('%s', (_name, env, expected) => {
    expect(rawConfigFromEnv(env)).toEqual(expected);
  });

  test('a Lambda environment parses end to end', () => {
    const config = parseControllerConfig(
      rawConfigFromEnv({
        AWS_REGION: 'eu-central-1',
        AWS_LAMBDA_FUNCTION_NAME: 'reconcile',
        CLUSTER_NAME: 'lab',
        ROUTE_TABLE_IDS: `${RTB},${RTB2}`,
        ROUTE_TABLE_TAG: '',
        REMOTE_VPC_ID: 'vpc-0a1b2c3d4e5f60001',
        READER_ROLE_ARN: ROLE,
        MAX_DELETE_FRACTION: '0.3',
        ALLOW_EMPTY: 'false',
      }),
      ENV_LABELS,
    );
    expect(config).toMatchObject({
      clusterName: 'lab',
      region: 'eu-central-1',
      routeTables: { kind: 'ids', routeTableIds: [RTB, RTB2] },
      vpcId: 'vpc-0a1b2c3d4e5f60001',
      readerRoleArn: ROLE,
      guards: { allowEmpty: false, force: false, maxDeleteFraction: 0.3, minDeleteBudget: 3 },
    });
  });

  test('a bad environment value is reported under its variable name', () => {
    expect(configError(rawConfigFromEnv({ CLUSTER_NAME: 'lab', ROUTE_TABLE_IDS: RTB, MAX_DELETE_FRACTION: '2' }), ENV_LABELS).field).toBe('MAX_DELETE_FRACTION');
  });
});

describe('route-table tag and region edge cases', () => {
  test.each(['Name=*', 'eks-hybrid-routes/managed=tr?e', 'team*=x'])('a tag with an EC2 wildcard is refused: %s', (tag) => {
    expect(() => parseControllerConfig({ clusterName: 'lab', routeTableTag: tag }, ENV_LABELS)).toThrow(/ROUTE_TABLE_TAG: must not contain \* or \?/);
  });

  test.each(['us-west-2', 'eu-central-1', 'eusc-de-east-1', 'us-gov-west-1'])('region %s is accepted', (region) => {
    expect(parseControllerConfig({ clusterName: 'lab', routeTableIds: 'rtb-0123456789abcdef0', region }, ENV_LABELS).region).toBe(region);
  });
});
