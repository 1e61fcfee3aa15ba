import type { Size } from "../core/sizes";

/**
 * Neutral sizes on AWS. Nodes are general-purpose x86 (AL2023 x86_64); spot pools get three
 * interchangeable families of the same shape so a capacity shortage in one does not starve the
 * pool. Databases are Graviton general-purpose classes (burstable T classes run out of CPU
 * credits under steady load).
 */
export const AWS_NODE_INSTANCE_TYPES: Readonly<Record<Size, readonly string[]>> = {
  small: ["m7i.large", "m6i.large", "m6a.large"],
  medium: ["m7i.xlarge", "m6i.xlarge", "m6a.xlarge"],
  large: ["m7i.2xlarge", "m6i.2xlarge", "m6a.2xlarge"],
  xlarge: ["m7i.4xlarge", "m6i.4xlarge", "m6a.4xlarge"],
};

export const AWS_DATABASE_INSTANCE_CLASSES: Readonly<Record<Size, string>> = {
  small: "db.m7g.large",
  medium: "db.m7g.xlarge",
  large: "db.m7g.2xlarge",
  xlarge: "db.m7g.4xlarge",
};

/**
 * EKS managed add-on builds pinned per Kubernetes minor version, so an upgrade is a reviewed
 * diff and never a surprise. Versions from AWS's add-on compatibility tables; check new ones
 * with `aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`.
 */
export const EKS_ADDON_VERSIONS: Readonly<Record<"1.31" | "1.32" | "1.33", Readonly<Record<string, string>>>> = {
  "1.31": {
    "vpc-cni": "v1.20.1-eksbuild.3",
    "kube-proxy": "v1.31.3-eksbuild.2",
    coredns: "v1.11.4-eksbuild.14",
    "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
  },
  "1.32": {
    "vpc-cni": "v1.20.1-eksbuild.3",
    "kube-proxy": "v1.32.5-eksbuild.2",
    coredns: "v1.11.4-eksbuild.14",
    "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
  },
  "1.33": {
    "vpc-cni": "v1.20.1-eksbuild.3",
    "kube-proxy": "v1.33.3-eksbuild.6",
    coredns: "v1.12.2-eksbuild.4",
    "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
  },
};
