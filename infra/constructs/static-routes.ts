/**
 * Optional, off by default: the two static aggregate routes the seed sets by hand, so that traffic for the
 * remote pod networks reaches the remote VPC at all. The per-node routes inside the remote VPC are the
 * reconciler's; these never change while the cluster exists.
 *  - each EKS VPC route table: remote pod network → transit gateway;
 *  - the TGW route table: remote pod network → the remote VPC's attachment.
 * A route that already exists (set by hand) makes the deployment fail: remove it first, or leave this off.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { StaticRoutesConfig } from '../context.js';

const idOf = (text: string) => text.replace(/[^A-Za-z0-9]/g, '-');
const isIpv6 = (cidr: string) => cidr.includes(':');

export class StaticRoutes extends Construct {
  readonly eksVpcRoutes: ec2.CfnRoute[] = [];
  readonly transitGatewayRoutes: ec2.CfnTransitGatewayRoute[] = [];

  constructor(scope: Construct, id: string, props: StaticRoutesConfig) {
    super(scope, id);
    for (const cidr of props.remotePodNetworks) {
      const destination = isIpv6(cidr) ? { destinationIpv6CidrBlock: cidr } : { destinationCidrBlock: cidr };
      for (const routeTableId of props.eksVpc?.routeTableIds ?? []) {
        this.eksVpcRoutes.push(
          new ec2.CfnRoute(this, `EksVpc-${idOf(routeTableId)}-${idOf(cidr)}`, {
            routeTableId,
            transitGatewayId: props.eksVpc!.transitGatewayId,
            ...destination,
          }),
        );
      }
      if (props.transitGateway) {
        this.transitGatewayRoutes.push(
          new ec2.CfnTransitGatewayRoute(this, `Tgw-${idOf(cidr)}`, {
            transitGatewayRouteTableId: props.transitGateway.routeTableId,
            transitGatewayAttachmentId: props.transitGateway.attachmentId,
            destinationCidrBlock: cidr,
          }),
        );
      }
    }
  }
}
