import { describe, expect, it } from "vitest";
import { EKS_ADDON_VERSIONS } from "../../constructs/aws/sizes";
import { baseSpec, productionSpec } from "../support/fixtures";
import { synthInfra } from "../support/synth";

describe("AWS EKS cluster", () => {
  const staging = synthInfra(baseSpec());
  const prod = synthInfra(productionSpec());

  it("keeps the API endpoint private unless the spec lists CIDRs", () => {
    expect(staging.one("aws_eks_cluster").vpc_config).toMatchObject({ endpoint_private_access: true, endpoint_public_access: false });
    expect(staging.one("aws_eks_cluster").vpc_config).not.toHaveProperty("public_access_cidrs");
    const open = synthInfra({ ...baseSpec(), cluster: { ...baseSpec().cluster, publicAccessCidrs: ["203.0.113.0/24"] } });
    expect(open.one("aws_eks_cluster").vpc_config).toMatchObject({ endpoint_public_access: true, public_access_cidrs: ["203.0.113.0/24"] });
  });

  it("envelope-encrypts secrets with a rotating customer-managed key", () => {
    const cluster = staging.one("aws_eks_cluster");
    expect(cluster.encryption_config).toMatchObject({ resources: ["secrets"] });
    const keyRef = String((cluster.encryption_config as { provider: { key_arn: string } }).provider.key_arn);
    const keyId = /aws_kms_key\.([^.]+)\.arn/.exec(keyRef)?.[1] ?? "";
    expect(staging.resources("aws_kms_key")[keyId]).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
  });

  it("ships api, audit and authenticator logs with a retention period", () => {
    expect(staging.one("aws_eks_cluster").enabled_cluster_log_types).toEqual(["api", "audit", "authenticator"]);
    expect(staging.find("aws_cloudwatch_log_group", "control-plane-logs")).toMatchObject({ name: "/aws/eks/test-cluster/cluster", retention_in_days: 30 });
    expect(prod.find("aws_cloudwatch_log_group", "control-plane-logs")).toMatchObject({ retention_in_days: 90 });
  });

  it("uses API authentication with access entries for the listed admins", () => {
    expect(staging.one("aws_eks_cluster").access_config).toMatchObject({ authentication_mode: "API" });
    expect(staging.all("aws_eks_access_entry")).toHaveLength(0);
    const admin = "arn:aws:iam::123456789012:role/platform-admins";
    const withAdmin = synthInfra({ ...baseSpec(), cluster: { ...baseSpec().cluster, aws: { adminPrincipalArns: [admin] } } });
    expect(withAdmin.one("aws_eks_access_entry")).toMatchObject({ principal_arn: admin, type: "STANDARD" });
    expect(withAdmin.one("aws_eks_access_policy_association")).toMatchObject({
      policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      access_scope: { type: "cluster" },
    });
  });

  it("makes the Terraform Cloud run role a cluster admin, so runs of <env>-apps reach the API (the creator is a person)", () => {
    const cloud = { organization: "acme-data", project: "data-platform" };
    const managed = synthInfra({ ...baseSpec(), terraformCloud: cloud });
    const entry = managed.find("aws_eks_access_entry", "terraform-cloud-admin");
    const role = Object.entries(managed.resources("aws_iam_role")).find(([, block]) => block.name === "test-terraform-cloud")?.[0];
    expect(String(entry.principal_arn)).toBe(`\${aws_iam_role.${role}.arn}`);
    expect(entry.depends_on).toContain(`aws_iam_role.${role}`);
    expect(managed.find("aws_eks_access_policy_association", "terraform-cloud-admin")).toMatchObject({
      policy_arn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      access_scope: { type: "cluster" },
    });
    // Listed among the spec's admins already, the role gets one entry, not two that would conflict.
    const listed = synthInfra({ ...baseSpec(), terraformCloud: cloud, cluster: { ...baseSpec().cluster, aws: { adminPrincipalArns: ["arn:aws:iam::123456789012:role/test-terraform-cloud"] } } });
    expect(listed.all("aws_eks_access_entry")).toHaveLength(1);
  });

  it("creates the IRSA OIDC provider for STS", () => {
    expect(staging.one("aws_iam_openid_connect_provider")).toMatchObject({ client_id_list: ["sts.amazonaws.com"] });
  });

  it("launches AL2023 nodes through launch templates that require IMDSv2 with hop limit 1", () => {
    const template = staging.one("aws_launch_template");
    expect(template.metadata_options).toMatchObject({ http_endpoint: "enabled", http_tokens: "required", http_put_response_hop_limit: 1 });
    expect(template.block_device_mappings).toEqual([
      { device_name: "/dev/xvda", ebs: { volume_size: 50, volume_type: "gp3", encrypted: "true", delete_on_termination: "true" } },
    ]);
    const group = staging.one("aws_eks_node_group");
    expect(group).toMatchObject({
      ami_type: "AL2023_x86_64_STANDARD",
      capacity_type: "ON_DEMAND",
      instance_types: ["m7i.xlarge", "m6i.xlarge", "m6a.xlarge"],
      scaling_config: { min_size: 2, max_size: 4, desired_size: 2 },
    });
    expect(String((group.launch_template as { id: string }).id)).toMatch(/aws_launch_template\./);
  });

  it("maps spot pools and the per-cloud instance type override", () => {
    const spec = baseSpec();
    const spot = synthInfra({
      ...spec,
      cluster: { ...spec.cluster, nodePools: [...spec.cluster.nodePools, { name: "batch", size: "large", minNodes: 0, maxNodes: 5, spot: true, aws: { instanceTypes: ["c7i.2xlarge"] } }] },
    });
    expect(spot.find("aws_eks_node_group", "batch")).toMatchObject({ capacity_type: "SPOT", instance_types: ["c7i.2xlarge"], scaling_config: { min_size: 0, desired_size: 1 } });
  });

  it("pins the core add-ons for the Kubernetes version", () => {
    const addons = Object.fromEntries(staging.all("aws_eks_addon").map((a) => [a.addon_name, a.addon_version]));
    expect(addons).toEqual(EKS_ADDON_VERSIONS["1.33"]);
    expect(staging.one("aws_eks_cluster")).toMatchObject({ version: "1.33", bootstrap_self_managed_addons: false });
  });

  it("protects the production cluster from destroy", () => {
    expect(prod.one("aws_eks_cluster").lifecycle).toMatchObject({ prevent_destroy: true });
    expect(staging.one("aws_eks_cluster").lifecycle).toMatchObject({ prevent_destroy: false });
  });
});
