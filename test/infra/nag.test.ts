/**
 * cdk-nag AwsSolutions checks (v2: findings are construct annotations, acknowledgements are NagSuppressions
 * with a reason; see infra/README.md for why v2). The app runs the same pack on `cdk synth`.
 */
import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStack } from './support.js';

const CONFIGURATIONS: [string, Record<string, unknown>][] = [
  ['cdk.json example (route tables by tag)', {}],
  [
    'explicit route tables, alarm e-mail and topic, named reader role, static routes',
    {
      routeTableTag: undefined,
      routeTableIds: 'rtb-0aaaaaaaaaaaaaaa1,rtb-0bbbbbbbbbbbbbbb2',
      alarmEmail: 'network-oncall@example.com',
      alarmTopicArn: 'arn:aws:sns:us-west-2:123456789012:platform-alarms',
      readerRoleName: 'eks-hybrid-routes-reader',
      remotePodNetworks: '10.30.0.0/16',
      eksRouteTableIds: 'rtb-0ccccccccccccccc3',
      transitGatewayId: 'tgw-0ddddddddddddddd4',
      tgwRouteTableId: 'tgw-rtb-0eeeeeeeeeeeeeee5',
      remoteVpcAttachmentId: 'tgw-attach-0fffffffffffffff6',
    },
  ],
  ['an existing reader role', { readerRoleArn: 'arn:aws:iam::123456789012:role/eks-hybrid-routes-reader' }],
];

describe.each(CONFIGURATIONS)('AwsSolutions: %s', (_name, overrides) => {
  const { stack } = buildStack(overrides);
  Aspects.of(stack).add(new AwsSolutionsChecks());
  const annotations = Annotations.fromStack(stack);
  const template = Template.fromStack(stack).toJSON() as {
    Metadata?: Record<string, unknown>;
    Resources: Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string; applies_to?: unknown[] }[] } } }>;
  };

  test('no unacknowledged errors', () => {
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  test('no unacknowledged warnings', () => {
    expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  test('every acknowledgement is on a resource (none stack-wide) and gives a specific reason', () => {
    expect(template.Metadata?.cdk_nag).toBeUndefined();
    const perResource = Object.values(template.Resources).map((resource) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(perResource.flat().length).toBeGreaterThan(0);
    for (const suppressions of perResource) {
      for (const { id, reason } of suppressions) {
        expect(id).toMatch(/^AwsSolutions-[A-Z]+\d+$/);
        expect(reason.length).toBeGreaterThanOrEqual(20);
      }
      // Distinct reasons on each resource: no copy-pasted blanket justification.
      expect(new Set(suppressions.map(({ reason }) => reason)).size).toBe(suppressions.length);
    }
  });

  test('wildcard acknowledgements are granular (IAM5 names the exact resource it accepts)', () => {
    const iam5 = Object.values(template.Resources).flatMap((resource) => resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).filter(({ id }) => id === 'AwsSolutions-IAM5');
    expect(iam5.length).toBeGreaterThan(0);
    for (const suppression of iam5) expect(suppression.applies_to?.length).toBeGreaterThan(0);
  });
});
