import { describe, expect, it } from "vitest";
import { synthInfra } from "../support/synth";
import { gcpSpec } from "./fixtures";

describe("GCP workload identity", () => {
  const spec = gcpSpec();
  const stack = synthInfra({
    ...spec,
    name: "identity-long-nm",
    buckets: [...(spec.buckets ?? []), { name: "lake", purpose: "data" }],
    apps: [
      { name: "airflow", database: "main", bucket: "logs" },
      { name: "airbyte", database: "main", bucket: "lake" },
      { name: "metabase", database: "main" },
      { name: "monitoring" },
    ],
  });
  const appAccount = (app: string) => stack.find("google_service_account", `identity-${app}_`);

  it("gives each app its own service account with a valid, derived account id", () => {
    expect(appAccount("airflow").account_id).toBe("identity-long-nm-airflow");
    for (const account of stack.all("google_service_account")) {
      expect(String(account.account_id)).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    }
    expect(appAccount("monitoring").account_id).toBe("identity-long-nm-monitoring");
  });

  it("lets only the workload's own Kubernetes service accounts act as it (Airflow's task pods too; Airbyte's job pods use MinIO here)", () => {
    const bindings = stack.all("google_service_account_iam_member");
    expect(bindings.map((b) => b.member).sort()).toEqual([
      "serviceAccount:acme-data-test.svc.id.goog[airbyte/airbyte]",
      "serviceAccount:acme-data-test.svc.id.goog[airflow/airflow-tasks]",
      "serviceAccount:acme-data-test.svc.id.goog[airflow/airflow]",
      "serviceAccount:acme-data-test.svc.id.goog[external-secrets/external-secrets]",
      "serviceAccount:acme-data-test.svc.id.goog[metabase/metabase]",
      "serviceAccount:acme-data-test.svc.id.goog[monitoring/prometheus]",
    ]);
    // The first member keeps its address; the task pods' member is a new resource beside it.
    const airflow = stack.find("google_service_account_iam_member", /^platform_identity-airflow_workload-identity-user_[A-F0-9]+$/);
    const tasks = stack.find("google_service_account_iam_member", /^platform_identity-airflow_workload-identity-user-airflow-tasks_[A-F0-9]+$/);
    expect(tasks.service_account_id).toBe(airflow.service_account_id);
    expect(tasks.role).toBe("roles/iam.workloadIdentityUser");
    expect(airflow.role).toBe("roles/iam.workloadIdentityUser");
    expect(String(airflow.service_account_id)).toMatch(/google_service_account\.platform_identity-airflow_[A-F0-9]+\.name/);
    expect(airflow.depends_on).toContainEqual(expect.stringMatching(/^google_container_cluster\./));
  });

  it("grants each app object access on its own bucket only", () => {
    const grants = stack.all("google_storage_bucket_iam_member");
    expect(grants).toHaveLength(2);
    const airflow = stack.find("google_storage_bucket_iam_member", "airflow");
    expect(airflow.role).toBe("roles/storage.objectUser");
    expect(String(airflow.bucket)).toMatch(/google_storage_bucket\.platform_bucket-logs_[A-F0-9]+\.name/);
    expect(String(airflow.member)).toMatch(/google_service_account\.platform_identity-airflow_[A-F0-9]+\.member/);
    const airbyte = stack.find("google_storage_bucket_iam_member", "airbyte");
    expect(String(airbyte.bucket)).toMatch(/platform_bucket-lake_/);
    expect(String(airbyte.member)).toMatch(/identity-airbyte_/);
  });

  it("gives app identities no project-wide roles", () => {
    const projectMembers = stack.all("google_project_iam_member").map((m) => String(m.member));
    expect(projectMembers.some((member) => member.includes("identity-"))).toBe(false);
  });
});
