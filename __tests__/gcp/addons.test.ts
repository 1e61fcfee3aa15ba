import { describe, expect, it } from "vitest";
import { Testing, TerraformStack } from "cdktn";
import { WORKLOAD_ACCOUNTS, type WorkloadName } from "../../constructs/core/apps";
import { parseEnvironment } from "../../constructs/core/spec";
import { GcpPlatform } from "../../constructs/gcp";
import { SECRET_READ_ROLE } from "../../constructs/gcp/database";
import { workloadAccountEmail, workloadAccountId } from "../../constructs/gcp/identity";
import { SynthesizedStack } from "../support/synth";
import { gcpSpec } from "./fixtures";

const SIXTEEN = "sixteen-chars-nm";

function platformIn(name: string, envName = "test") {
  const scope = new TerraformStack(Testing.app(), name);
  const env = parseEnvironment({ ...gcpSpec(), name: envName });
  return { scope, env, platform: new GcpPlatform(scope, "platform", env) };
}

describe("GCP add-on identities", () => {
  it("gives every workload a valid service account id, even next to a 16-character environment name", () => {
    expect(SIXTEEN).toHaveLength(16);
    const { platform } = platformIn("ids", SIXTEEN);
    for (const workload of Object.keys(WORKLOAD_ACCOUNTS) as WorkloadName[]) {
      expect(workloadAccountId(platform.ctx, workload)).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    }
    expect(workloadAccountId(platform.ctx, "external-secrets")).toBe(`${SIXTEEN}-ext-secrets`);
    expect(workloadAccountId(platform.ctx, "external-dns")).toBe(`${SIXTEEN}-external-dns`);
    expect(workloadAccountId(platform.ctx, "airflow")).toBe(`${SIXTEEN}-airflow`);
  });

  it("creates the add-on identities with the account ids the apps stack derives", () => {
    const { scope, platform } = platformIn("addons", SIXTEEN);
    const cluster = platform.cluster(platform.network());
    const externalSecrets = platform.workloadIdentity("external-secrets", cluster);
    platform.workloadIdentity("external-dns", cluster);
    expect(externalSecrets).toMatchObject({ namespace: "external-secrets", serviceAccount: "external-secrets" });
    const stack = new SynthesizedStack(Testing.synth(scope));
    const account = stack.find("google_service_account", "identity-external-secrets_");
    expect(account.account_id).toBe(`${SIXTEEN}-ext-secrets`);
    expect(workloadAccountEmail(platform.ctx, "external-secrets")).toBe(`${account.account_id}@acme-data-test.iam.gserviceaccount.com`);
    expect(stack.find("google_service_account_iam_member", "identity-external-dns").member).toBe(
      "serviceAccount:acme-data-test.svc.id.goog[external-dns/external-dns]",
    );
  });
});

describe("GCP database admin secret access", () => {
  it("grants secretAccessor on the admin secret only, to GCP identities only", () => {
    const { scope, env, platform } = platformIn("secret-read");
    const network = platform.network();
    const cluster = platform.cluster(network);
    const database = platform.database(env.databases[0], network, cluster);
    database.grantAdminSecretRead(platform.workloadIdentity("external-secrets", cluster));
    const stack = new SynthesizedStack(Testing.synth(scope));
    const grant = stack.one("google_secret_manager_secret_iam_member");
    expect(grant.role).toBe(SECRET_READ_ROLE);
    expect(grant.role).toBe("roles/secretmanager.secretAccessor");
    expect(String(grant.secret_id)).toMatch(/^\$\{google_secret_manager_secret\.platform_database-main_admin-secret_[A-F0-9]+\.id\}$/);
    expect(String(grant.member)).toMatch(/google_service_account\.platform_identity-external-secrets_[A-F0-9]+\.member/);
    expect(stack.all("google_project_iam_member").map((member) => String(member.member)).some((member) => member.includes("external-secrets"))).toBe(false);
    const foreign = { workload: "external-secrets" as const, namespace: "external-secrets", serviceAccount: "external-secrets", serviceAccountAnnotations: {} };
    expect(() => database.grantAdminSecretRead(foreign)).toThrow(TypeError);
    expect(() => database.grantAdminSecretRead(foreign)).toThrow(/only be granted to a GCP workload identity/);
  });

  it("keeps the admin secret's id where the apps stack looks for it", () => {
    const { scope, env, platform } = platformIn("secret-id");
    const network = platform.network();
    platform.database(env.databases[0], network, platform.cluster(network));
    const stack = new SynthesizedStack(Testing.synth(scope));
    const secretId = stack.one("google_secret_manager_secret").secret_id;
    expect(platform.clusterServices().adminCredentials(env.databases[0]).password).toEqual({ key: secretId, property: "password" });
  });
});
