/**
 * Cluster access: the IAM role the reconciler assumes to read CiliumNodes, and the EKS access entry that
 * maps it to a Kubernetes group. What that group may do is plain RBAC: `infra/k8s/rbac.yaml`
 * (get/list/watch on ciliumnodes.cilium.io, nothing else), applied with kubectl.
 */
import { Duration } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { KUBERNETES_READER_GROUP, type ReaderRoleSelection } from '../context.js';

export interface ClusterAccessProps {
  clusterName: string;
  readerRole: ReaderRoleSelection;
  /** The only principal that may assume the reader role (the reconciler's role). */
  trustedRole: iam.IRole;
  createAccessEntry: boolean;
}

export class ClusterAccess extends Construct {
  readonly readerRole: iam.IRole;
  readonly accessEntry?: eks.CfnAccessEntry;

  constructor(scope: Construct, id: string, props: ClusterAccessProps) {
    super(scope, id);

    if (props.readerRole.kind === 'import') {
      // An existing role: its trust policy is the owner's to set (README: "Bring your own reader role").
      this.readerRole = iam.Role.fromRoleArn(this, 'ReaderRole', props.readerRole.roleArn, { mutable: false });
    } else {
      this.readerRole = new iam.Role(this, 'ReaderRole', {
        ...(props.readerRole.roleName ? { roleName: props.readerRole.roleName } : {}),
        // Trusted by the reconciler's role only. The role has no IAM permissions of its own: it exists to
        // carry a Kubernetes identity (the access entry below), and tokens are presigned GetCallerIdentity calls.
        assumedBy: new iam.ArnPrincipal(props.trustedRole.roleArn),
        description: `eks-hybrid-routes: read CiliumNodes in EKS cluster ${props.clusterName} (Kubernetes group ${KUBERNETES_READER_GROUP})`,
        maxSessionDuration: Duration.hours(1),
      });
    }

    if (props.createAccessEntry) {
      this.accessEntry = new eks.CfnAccessEntry(this, 'AccessEntry', {
        clusterName: props.clusterName,
        principalArn: this.readerRole.roleArn,
        type: 'STANDARD',
        // No access policy: AmazonEKSViewPolicy does not cover CRDs. RBAC for this group is infra/k8s/rbac.yaml.
        kubernetesGroups: [KUBERNETES_READER_GROUP],
      });
    }
  }
}
