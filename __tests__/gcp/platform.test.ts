import { describe, expect, it } from "vitest";
import { Testing, TerraformOutput, TerraformStack } from "cdktn";
import { GCP_RESOURCE_TYPES, GcpPlatform } from "../../constructs/gcp";
import { NEUTRAL_CONCEPTS } from "../../constructs/core/interfaces";
import { parseEnvironment } from "../../constructs/core/spec";
import { SynthesizedStack, synthInfra } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

describe("GCP platform", () => {
  it("synthesizes every resource type it lists for a neutral concept", () => {
    const stack = synthInfra({ ...gcpProductionSpec(), databases: [{ name: "main", postgresVersion: "16", size: "small", storageGiB: 50, readReplicas: 1 }] });
    for (const concept of NEUTRAL_CONCEPTS) {
      for (const type of GCP_RESOURCE_TYPES[concept]) expect(stack.all(type).length, `${concept}: ${type}`).toBeGreaterThan(0);
    }
  });

  it("keeps the infra stack on the google and random providers alone", () => {
    expect(Object.keys(synthInfra(gcpSpec()).json.provider ?? {}).sort()).toEqual(["google", "random"]);
  });

  it("grants read access with objectViewer on that bucket only, to GCP identities only", () => {
    const app = Testing.app();
    const scope = new TerraformStack(app, "grant-read");
    const env = parseEnvironment(gcpSpec());
    const platform = new GcpPlatform(scope, "platform", env);
    const cluster = platform.cluster(platform.network());
    const bucket = platform.bucket(env.buckets[0]);
    bucket.grantRead(platform.workloadIdentity("metabase", cluster));
    const stack = new SynthesizedStack(Testing.synth(scope));
    const grant = stack.one("google_storage_bucket_iam_member");
    expect(grant.role).toBe("roles/storage.objectViewer");
    expect(String(grant.bucket)).toMatch(/google_storage_bucket\.platform_bucket-logs_[A-F0-9]+\.name/);
    expect(String(grant.member)).toMatch(/platform_identity-metabase_/);
    const foreign = { workload: "grafana" as const, namespace: "grafana", serviceAccount: "grafana", serviceAccountAnnotations: {} };
    expect(() => bucket.grantReadWrite(foreign)).toThrow(/only be granted to a GCP workload identity/);
  });

  it("annotates the app's Kubernetes service account with its Google service account", () => {
    const app = Testing.app();
    const scope = new TerraformStack(app, "annotations");
    const platform = new GcpPlatform(scope, "platform", parseEnvironment(gcpSpec()));
    const identity = platform.workloadIdentity("airflow", platform.cluster(platform.network()));
    expect(identity).toMatchObject({ workload: "airflow", namespace: "airflow", serviceAccount: "airflow" });
    new TerraformOutput(scope, "annotation", { value: identity.serviceAccountAnnotations["iam.gke.io/gcp-service-account"] });
    const stack = new SynthesizedStack(Testing.synth(scope));
    expect(stack.json.output?.annotation?.value).toMatch(/^\$\{google_service_account\.platform_identity-airflow_[A-F0-9]+\.email\}$/);
  });
});
