import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { SpecError } from "../../constructs/core/errors";
import type { TerraformCloudTarget } from "../../constructs/core/interfaces";
import { parseEnvironment, type EnvironmentInput } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import {
  TERRAFORM_CLOUD_ACT_AS_ROLE,
  TERRAFORM_CLOUD_PROJECT_ROLES,
  TERRAFORM_CLOUD_READER_PERMISSIONS,
  TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE,
  terraformCloudAccountId,
  terraformCloudPoolId,
} from "../../constructs/gcp/terraform-cloud";
import { specChecks } from "../../stacks/app";
import { environments } from "../../environments";
import { gcpGrantableRoles } from "../support/permissions";
import { SynthesizedStack, synthInfra } from "../support/synth";
import { gcpSpec } from "./fixtures";

const TARGET: TerraformCloudTarget = { organization: "acme-data", project: "data-platform", workspaces: ["test-infra", "test-apps"] };

function synthTrust(input: EnvironmentInput = gcpSpec(), target: TerraformCloudTarget = TARGET) {
  const scope = new TerraformStack(Testing.app(), "tfc");
  const platform = new GcpPlatform(scope, "platform", parseEnvironment(input));
  const trust = platform.terraformCloudTrust(target);
  for (const [key, value] of Object.entries(trust.workspaceVariables)) new TerraformOutput(scope, key, { value });
  return { platform, trust, stack: new SynthesizedStack(Testing.synth(scope)) };
}

describe("GCP Terraform Cloud trust", () => {
  const { stack, platform } = synthTrust();

  it("creates one pool with a deterministic id and one OIDC provider for app.terraform.io", () => {
    const pool = stack.one("google_iam_workload_identity_pool");
    expect(pool.workload_identity_pool_id).toBe("tfc-test");
    expect(String(pool.workload_identity_pool_id)).toMatch(/^(?!gcp-)[a-z0-9-]{4,32}$/);
    const provider = stack.one("google_iam_workload_identity_pool_provider");
    expect(provider.oidc).toEqual({ issuer_uri: "https://app.terraform.io" });
    expect(provider.workload_identity_pool_provider_id).toBe("terraform-cloud");
    expect(String(provider.workload_identity_pool_id)).toMatch(/^\$\{google_iam_workload_identity_pool\.platform_terraform-cloud-trust_pool_[A-F0-9]+\.workload_identity_pool_id\}$/);
  });

  it("maps the subject and Terraform Cloud's claims, and admits only the organization and project", () => {
    const provider = stack.one("google_iam_workload_identity_pool_provider");
    expect(provider.attribute_mapping).toEqual({
      "google.subject": "assertion.sub",
      "attribute.terraform_organization_name": "assertion.terraform_organization_name",
      "attribute.terraform_project_name": "assertion.terraform_project_name",
      "attribute.terraform_workspace_name": "assertion.terraform_workspace_name",
      "attribute.terraform_run_phase": "assertion.terraform_run_phase",
    });
    expect(provider.attribute_condition).toBe('assertion.terraform_organization_name == "acme-data" && assertion.terraform_project_name == "data-platform"');
  });

  it("creates the run service account and lets each workspace, and nothing else, act as it", () => {
    const account = stack.one("google_service_account");
    expect(account.account_id).toBe("test-terraform-cloud");
    const bindings = stack.all("google_service_account_iam_member");
    expect(bindings).toHaveLength(2);
    for (const binding of bindings) {
      expect(binding.role).toBe("roles/iam.workloadIdentityUser");
      expect(String(binding.service_account_id)).toMatch(/^\$\{google_service_account\.platform_terraform-cloud-trust_[A-F0-9]+\.name\}$/);
    }
    expect(bindings.map((binding) => binding.member).sort()).toEqual(
      ["test-apps", "test-infra"].map((workspace) =>
        expect.stringMatching(
          new RegExp(`^principalSet://iam\\.googleapis\\.com/\\$\\{google_iam_workload_identity_pool\\.platform_terraform-cloud-trust_pool_[A-F0-9]+\\.name\\}/attribute\\.terraform_workspace_name/${workspace}$`),
        ),
      ),
    );
  });

  it("grants predefined service roles, and projectIamAdmin only under the documented delegation condition", () => {
    const members = stack.all("google_project_iam_member");
    const plain = members.filter((member) => member.condition === undefined);
    const reader = Object.keys(stack.json.resource?.google_project_iam_custom_role ?? {})[0];
    expect(plain.map((member) => member.role).sort()).toEqual([...TERRAFORM_CLOUD_PROJECT_ROLES, `\${google_project_iam_custom_role.${reader}.name}`].sort());
    // Read-only: the runs refresh what the bootstrapper owns, and change none of it.
    expect(stack.one("google_project_iam_custom_role").permissions).toEqual([...TERRAFORM_CLOUD_READER_PERMISSIONS]);
    for (const permission of TERRAFORM_CLOUD_READER_PERMISSIONS) expect(permission).toMatch(/\.(get|list|getIamPolicy)$/);
    // Nothing on service accounts, nor on the pool and provider, at the project level.
    expect(plain.map((member) => String(member.role)).filter((role) => /^roles\/iam\.(serviceAccount|workloadIdentityPool)/.test(role))).toEqual([]);
    for (const member of members) {
      expect(member.project).toBe("acme-data-test");
      expect(String(member.member)).toMatch(/^\$\{google_service_account\.platform_terraform-cloud-trust_[A-F0-9]+\.member\}$/);
      expect(member.depends_on).toEqual([expect.stringMatching(/^google_project_service\.platform_apis_resource-manager_[A-F0-9]+$/)]);
    }
    const delegated = members.filter((member) => member.condition !== undefined);
    expect(delegated.map((member) => member.role)).toEqual(["roles/resourcemanager.projectIamAdmin"]);
    const condition = delegated[0].condition as { title: string; expression: string };
    expect(condition.title).toBe("grants-of-the-stacks-only");
  });

  it("lets the runs grant exactly the project roles a full environment's stack grants (a default GCP environment with DNS, user secrets and agents)", () => {
    const input = environments.find((env) => env.cloud === "gcp" && env.terraformCloud && env.dns?.zone);
    const infra = synthInfra(input as EnvironmentInput);
    const projectId = (input as EnvironmentInput).accounts.gcp?.projectId;
    const roleIds = new Map(Object.entries(infra.json.resource?.google_project_iam_custom_role ?? {}).map(([name, role]) => [name, (role as { role_id: string }).role_id]));
    const members = infra.all("google_project_iam_member");
    const granted = members
      .filter((member) => !String(member.member).includes("terraform-cloud-trust"))
      .map((member) => String(member.role).replace(/^\$\{google_project_iam_custom_role\.([^.]+)\.name\}$/, (_, name: string) => `projects/${projectId}/roles/${roleIds.get(name)}`));
    const delegated = members.find((member) => member.role === "roles/resourcemanager.projectIamAdmin");
    const condition = (delegated?.condition ?? { expression: "" }) as { expression: string };
    expect(gcpGrantableRoles(condition.expression)).toEqual([...new Set(granted)].sort());
  });

  it("manages each service account of a full environment but its own, and acts only as the node and agent accounts", () => {
    const input = environments.find((env) => env.cloud === "gcp" && env.terraformCloud);
    const infra = synthInfra(input as EnvironmentInput);
    const accounts = Object.entries(infra.json.resource?.google_service_account ?? {}).map(([name, sa]) => [name, String((sa as { account_id: string }).account_id)] as const);
    const run = accounts.find(([name]) => name.includes("terraform-cloud-trust"));
    const grants = Object.values(infra.json.resource?.google_service_account_iam_member ?? {}).filter((member) => String(member.member).includes(`google_service_account.${run?.[0]}.member`));
    const on = (role: string) => grants.filter((g) => g.role === role).map((g) => accounts.find(([name]) => String(g.service_account_id).includes(`google_service_account.${name}.`))?.[1]).sort();
    expect(on(TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE)).toEqual(accounts.filter(([name]) => name !== run?.[0]).map(([, id]) => id).sort());
    expect(on(TERRAFORM_CLOUD_ACT_AS_ROLE)).toEqual([`${input?.name}-gke-nodes`, `${input?.name}-tfc-agent`].sort());
    expect(grants.map((g) => g.role).filter((role) => role !== TERRAFORM_CLOUD_SERVICE_ACCOUNT_ROLE && role !== TERRAFORM_CLOUD_ACT_AS_ROLE)).toEqual([]);
  });

  it("refuses to synthesize a service account created after the trust (the run account could not manage it)", () => {
    const scope = new TerraformStack(Testing.app(), "late");
    const platform = new GcpPlatform(scope, "platform", parseEnvironment(gcpSpec()));
    platform.terraformCloudTrust(TARGET);
    new ServiceAccount(platform, "late-account", { accountId: "test-late-account" });
    expect(() => Testing.synth(scope, true)).toThrow(/late-account was created after .*terraform-cloud-trust: create the trust last/);
  });

  it("enables the IAM, STS and IAM Credentials APIs first", () => {
    const services = stack.all("google_project_service").map((service) => service.service);
    expect(services).toEqual(expect.arrayContaining(["iam.googleapis.com", "sts.googleapis.com", "iamcredentials.googleapis.com"]));
    const pool = stack.one("google_iam_workload_identity_pool");
    expect(pool.depends_on).toEqual([expect.stringMatching(/platform_apis_iam_/), expect.stringMatching(/platform_apis_sts_/)]);
    expect(stack.one("google_service_account").depends_on).toEqual([expect.stringMatching(/platform_apis_iam_/), expect.stringMatching(/platform_apis_iam-credentials_/)]);
  });

  it("gives the workspaces the documented variables, with tokens for the email and provider name", () => {
    const outputs = stack.json.output ?? {};
    expect(Object.keys(outputs).sort()).toEqual(["TFC_GCP_PROVIDER_AUTH", "TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL", "TFC_GCP_WORKLOAD_PROVIDER_NAME"]);
    expect(outputs.TFC_GCP_PROVIDER_AUTH.value).toBe("true");
    expect(outputs.TFC_GCP_RUN_SERVICE_ACCOUNT_EMAIL.value).toMatch(/^\$\{google_service_account\.platform_terraform-cloud-trust_[A-F0-9]+\.email\}$/);
    // The provider's `name`: projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.
    expect(outputs.TFC_GCP_WORKLOAD_PROVIDER_NAME.value).toMatch(/^\$\{google_iam_workload_identity_pool_provider\.platform_terraform-cloud-trust_oidc-provider_[A-F0-9]+\.name\}$/);
  });

  it("puts no secret anywhere: no key, no credential variable", () => {
    expect(stack.all("google_service_account_key")).toHaveLength(0);
    expect(stack.text).not.toMatch(/private_key|GOOGLE_CREDENTIALS|client_secret|password/i);
  });

  it("keeps the service account id within 30 characters for long environment names", () => {
    expect(terraformCloudAccountId(platform.ctx)).toBe("test-terraform-cloud");
    const long = synthTrust({ ...gcpSpec(), name: "identity-long-nm" }, { ...TARGET, workspaces: ["identity-long-nm-infra"] });
    expect(long.stack.one("google_service_account").account_id).toBe("identity-long-nm-tfc");
    expect(terraformCloudPoolId(long.platform.ctx)).toBe("tfc-identity-long-nm");
    const gcpNamed = synthTrust({ ...gcpSpec(), name: "gcp" });
    expect(gcpNamed.stack.one("google_iam_workload_identity_pool").workload_identity_pool_id).toBe("tfc-gcp");
  });

  it("refuses names whose token subject exceeds GCP's 127-byte limit, naming the field", () => {
    const long = { organization: "o".repeat(40), project: "p".repeat(40), workspaces: ["test-infra"] };
    // The spec pass refuses the names, with every other problem of the spec.
    const spec = { ...gcpSpec(), terraformCloud: { organization: long.organization, project: long.project } };
    expect(() => parseEnvironment(spec, specChecks)).toThrow(SpecError);
    expect(() => parseEnvironment(spec, specChecks)).toThrow(/terraformCloud: given \{"organization":"o+","project":"p+\.\.\.; accepted: .*127-byte limit .*\(it is 139 bytes\)/);
    // The construct, given such a target directly, refuses it too.
    expect(() => synthTrust(gcpSpec(), long)).toThrow(/exceeds 127 bytes/);
    expect(() => synthTrust(gcpSpec(), { ...TARGET, workspaces: [] })).toThrow(RangeError);
  });

  it("adds nothing to an environment that does not ask for it", () => {
    const infra = synthInfra(gcpSpec());
    expect(infra.all("google_iam_workload_identity_pool")).toHaveLength(0);
    expect(infra.all("google_iam_workload_identity_pool_provider")).toHaveLength(0);
    expect(infra.all("google_project_service").map((service) => service.service)).not.toContain("sts.googleapis.com");
    expect(infra.text).not.toContain("terraform-cloud");
  });
});
