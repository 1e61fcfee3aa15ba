/**
 * Customer-managed keys on GCP, read from real synthesized infra stacks (every GCP environment of
 * `environments/`, and a production spec): the rules of the google provider 6.50.0 and of Cloud
 * KMS / GKE they must keep, each with a case the check must refuse.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { environments } from "../../environments";
import { parseEnvironment, type Environment, type EnvironmentInput } from "../../constructs/core/spec";
import { diffStack, parseStack } from "../../scripts/stack-diff";
import { specChecks } from "../../stacks/app";
import { SynthesizedStack, synthInfra, type TfBlock } from "../support/synth";
import { gcpProductionSpec, gcpSpec } from "./fixtures";

/**
 * google v6.50.0 google/services/kms/kms_utils.go, `validateKmsCryptoKeyRotationPeriod`: a number
 * of seconds matching `^([0-9.]*\d)s$`, at least 86400 (one day), at most 9 fractional digits.
 */
function rotationPeriodProblem(period: string): string | undefined {
  const match = /^([0-9.]*\d)s$/.exec(period);
  if (!match) return `Invalid rotation period format: ${period}`;
  const seconds = Number.parseFloat(match[1]);
  if (Number.isNaN(seconds)) return `not a number: ${period}`;
  if (seconds < 86400) return "Rotation period must be greater than one day";
  const fraction = match[1].split(".")[1];
  if (fraction !== undefined && fraction.length > 9) return "Rotation period cannot have more than 9 fractional digits";
  return undefined;
}

/** The GKE service agent of a project, by its number (GKE docs, "Encrypt secrets at the application layer"). */
const GKE_AGENT = /^serviceAccount:service-\$\{data\.google_project\.[^.]+\.number\}@container-engine-robot\.iam\.gserviceaccount\.com$/;

/** Everything wrong with the cluster's Secrets encryption in one synthesized infra stack. */
function secretsEncryptionProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const cluster = stack.one("google_container_cluster");
  const encryption = cluster.database_encryption as { state?: string; key_name?: string } | undefined;
  if (encryption?.state !== "ENCRYPTED") return ["the cluster does not encrypt Secrets with a Cloud KMS key (database_encryption.state)"];
  const keyRef = /^\$\{google_kms_crypto_key\.([^.]+)\.id\}$/.exec(String(encryption.key_name));
  if (!keyRef) return [`database_encryption.key_name ${String(encryption.key_name)} is not a key of the stack`];
  const key = stack.json.resource?.google_kms_crypto_key?.[keyRef[1]] as TfBlock;
  const period = String(key.rotation_period ?? "");
  const invalid = rotationPeriodProblem(period);
  if (invalid) problems.push(`the key's rotation_period: ${invalid}`);
  else if (Number.parseFloat(period) > 90 * 86400) problems.push(`the key rotates every ${period}, more than 90 days`);
  const ringRef = /^\$\{google_kms_key_ring\.([^.]+)\.id\}$/.exec(String(key.key_ring));
  const ring = ringRef ? (stack.json.resource?.google_kms_key_ring?.[ringRef[1]] as TfBlock) : undefined;
  // GKE needs the key in the cluster's region (a zonal cluster's zone is in it).
  if (!ring || !String(cluster.location).startsWith(String(ring.location))) problems.push(`the key ring is not in the cluster's region (${String(ring?.location)} vs ${String(cluster.location)})`);
  const grants = stack.all("google_kms_crypto_key_iam_member").filter((grant) => String(grant.crypto_key_id) === `\${google_kms_crypto_key.${keyRef[1]}.id}`);
  const agentGrant = Object.entries(stack.json.resource?.google_kms_crypto_key_iam_member ?? {}).find(
    ([, grant]) => (grant as TfBlock).role === "roles/cloudkms.cryptoKeyEncrypterDecrypter" && GKE_AGENT.test(String((grant as TfBlock).member)),
  );
  if (!agentGrant) problems.push("GKE's service agent may not use the key (cryptoKeyEncrypterDecrypter on it)");
  else if (!((cluster.depends_on as string[] | undefined) ?? []).includes(`google_kms_crypto_key_iam_member.${agentGrant[0]}`)) problems.push("the cluster does not depend on the agent's grant: GKE may meet a key it cannot use");
  for (const grant of grants) if (!GKE_AGENT.test(String(grant.member))) problems.push(`${String(grant.member)} may also use the Secrets key`);
  // Roles that encrypt or decrypt with every key of the project (roles/cloudkms.admin manages keys but uses none).
  const projectKms = stack.all("google_project_iam_member").filter((member) => /^roles\/cloudkms\.cryptoKey(Encrypter|Decrypter)/.test(String(member.role)));
  if (projectKms.length > 0) problems.push("a role that uses keys is granted on the whole project");
  return problems;
}

const gcpEnvironments = environments.filter((env) => env.cloud === "gcp");
const stacks: [string, EnvironmentInput][] = [...gcpEnvironments.map((env) => [env.name, env] as [string, EnvironmentInput]), ["production spec", gcpProductionSpec()]];

describe("GKE application-layer Secrets encryption", () => {
  it("the default environments include a GCP environment", () => {
    expect(gcpEnvironments.length).toBeGreaterThan(0);
  });

  it.each(stacks)("%s: Secrets encrypted with a rotated key only GKE's agent may use", (_, input) => {
    expect(secretsEncryptionProblems(synthInfra(input))).toEqual([]);
  });

  it("keys outlive their stack in production; key rings are never deleted", () => {
    const prod = synthInfra(gcpProductionSpec());
    for (const key of prod.all("google_kms_crypto_key")) expect(key.lifecycle).toEqual({ prevent_destroy: true });
    for (const ring of prod.all("google_kms_key_ring")) {
      expect(ring.name).toBe("live-keys");
      expect(ring.depends_on).toEqual([expect.stringMatching(/^google_project_service\.platform_apis_cloud-kms_[A-F0-9]+$/)]);
    }
    expect(prod.find("google_project_service", "apis_cloud-kms_").service).toBe("cloudkms.googleapis.com");
  });

  it("the check refuses a cluster without encryption, a key rotated too rarely or invalidly, another key user, no dependency", () => {
    const base = synthInfra(gcpProductionSpec());
    const variant = (change: (json: SynthesizedStack["json"]) => void) => {
      const copy = structuredClone(base.json);
      change(copy);
      return new SynthesizedStack(JSON.stringify(copy));
    };
    const cluster = (json: SynthesizedStack["json"]) => Object.values(json.resource?.google_container_cluster ?? {})[0] as TfBlock;
    const secretsOnly = (blocks: Record<string, TfBlock> | undefined) => Object.entries(blocks ?? {}).find(([name]) => name.includes("gke-secrets"))?.[1] as TfBlock;
    const key = (json: SynthesizedStack["json"]) => secretsOnly(json.resource?.google_kms_crypto_key);
    const grant = (json: SynthesizedStack["json"]) => secretsOnly(json.resource?.google_kms_crypto_key_iam_member);
    expect(secretsEncryptionProblems(variant((json) => delete cluster(json).database_encryption))).toEqual([expect.stringContaining("does not encrypt Secrets")]);
    expect(secretsEncryptionProblems(variant((json) => (key(json).rotation_period = "31536000s")))).toEqual([expect.stringContaining("more than 90 days")]);
    expect(secretsEncryptionProblems(variant((json) => (key(json).rotation_period = "90d")))).toEqual([expect.stringContaining("Invalid rotation period format")]);
    expect(secretsEncryptionProblems(variant((json) => (key(json).rotation_period = "3600s")))).toEqual([expect.stringContaining("greater than one day")]);
    expect(secretsEncryptionProblems(variant((json) => (grant(json).member = "serviceAccount:someone@acme-data-test.iam.gserviceaccount.com")))).toContain(
      "GKE's service agent may not use the key (cryptoKeyEncrypterDecrypter on it)",
    );
    expect(secretsEncryptionProblems(variant((json) => (cluster(json).depends_on = [])))).toEqual([expect.stringContaining("does not depend on the agent's grant")]);
  });

  it("the provider's rotation rule, encoded from source, accepts and refuses as it does", () => {
    expect(rotationPeriodProblem("7776000s")).toBeUndefined();
    expect(rotationPeriodProblem("86400s")).toBeUndefined();
    expect(rotationPeriodProblem("86400.5s")).toBeUndefined();
    expect(rotationPeriodProblem("86399s")).toBe("Rotation period must be greater than one day");
    expect(rotationPeriodProblem("7776000")).toMatch(/Invalid rotation period format/);
    expect(rotationPeriodProblem("86400.0000000001s")).toBe("Rotation period cannot have more than 9 fractional digits");
  });

  it("switching an existing cluster to encryption updates it in place (replace-forcing table from google v6.50.0 source)", () => {
    const table = JSON.parse(readFileSync(join(__dirname, "../../scripts/provider-rules/google-6.50.0.json"), "utf8")) as { replaceForcing: Record<string, { attributes: string[]; conditional: { path: string }[] }> };
    const forcing = (type: string) => [...table.replaceForcing[type].attributes, ...table.replaceForcing[type].conditional.map((rule) => rule.path)];
    // resource_container_cluster.go: `database_encryption` has no ForceNew (line 1965) and is updated
    // with DesiredDatabaseEncryption (line 4282); `name` is ForceNew, the case the table must keep.
    expect(forcing("google_container_cluster").filter((path) => path.startsWith("database_encryption"))).toEqual([]);
    expect(forcing("google_container_cluster")).toContain("name");
    // resource_kms_crypto_key.go: rotation_period has no ForceNew; key_ring and name do.
    expect(forcing("google_kms_crypto_key")).not.toContain("rotation_period");
    expect(forcing("google_kms_crypto_key")).toEqual(expect.arrayContaining(["key_ring", "name", "purpose"]));
    expect(forcing("google_kms_key_ring")).toEqual(["location", "name", "project"]);
  });
});

/**
 * Everything wrong with the buckets' default keys: each bucket's `encryption.default_kms_key_name`
 * is a key of the stack in the bucket's own location (Cloud Storage docs, "Customer-managed
 * encryption keys" > restrictions: the key ring must be in the bucket's location), usable by Cloud
 * Storage's service agent (the `google_storage_project_service_account` member), and the bucket
 * depends on that grant (Cloud Storage refuses a default key its agent cannot use).
 */
/**
 * The Cloud KMS location whose keys may encrypt a bucket in a Cloud Storage location (Cloud Storage
 * docs, "Customer-managed encryption keys" > key location: a region's own location; the EU, US and
 * ASIA multi-regions take keys of `europe`, `us` and `asia`).
 */
const kmsLocationFor = (bucketLocation: string): string => ({ EU: "europe", US: "us", ASIA: "asia" })[bucketLocation] ?? bucketLocation.toLowerCase();

function bucketKeyProblems(stack: SynthesizedStack): string[] {
  const problems: string[] = [];
  const resources = stack.json.resource ?? {};
  for (const [name, bucket] of Object.entries(resources.google_storage_bucket ?? {})) {
    const keyName = String((bucket.encryption as { default_kms_key_name?: string } | undefined)?.default_kms_key_name);
    const keyRef = /^\$\{google_kms_crypto_key\.([^.]+)\.id\}$/.exec(keyName);
    if (!keyRef) {
      problems.push(`${name}: no default Cloud KMS key (encryption.default_kms_key_name)`);
      continue;
    }
    const key = resources.google_kms_crypto_key?.[keyRef[1]];
    const ringRef = /^\$\{google_kms_key_ring\.([^.]+)\.id\}$/.exec(String(key?.key_ring));
    const ring = ringRef ? resources.google_kms_key_ring?.[ringRef[1]] : undefined;
    if (String(ring?.location) !== kmsLocationFor(String(bucket.location))) problems.push(`${name}: the key ring (${String(ring?.location)}) is not in the bucket's location (${String(bucket.location)})`);
    const grant = Object.entries(resources.google_kms_crypto_key_iam_member ?? {}).find(
      ([, g]) => g.crypto_key_id === `\${google_kms_crypto_key.${keyRef[1]}.id}` && g.role === "roles/cloudkms.cryptoKeyEncrypterDecrypter" && /^\$\{data\.google_storage_project_service_account\.[^.]+\.member\}$/.test(String(g.member)),
    );
    if (!grant) problems.push(`${name}: Cloud Storage's service agent may not use the key`);
    else if (!((bucket.depends_on as string[] | undefined) ?? []).includes(`google_kms_crypto_key_iam_member.${grant[0]}`)) problems.push(`${name}: does not depend on the agent's grant`);
  }
  return problems;
}

describe("GCS buckets: customer-managed default key", () => {
  it.each(stacks)("%s: every bucket's default key is a rotated key of its location that Cloud Storage's agent may use", (_, input) => {
    const stack = synthInfra(input);
    expect(stack.all("google_storage_bucket").length).toBeGreaterThan(0);
    expect(bucketKeyProblems(stack)).toEqual([]);
  });

  it("the check refuses a bucket without a key, a key in another location, a key the agent may not use", () => {
    const base = synthInfra(gcpProductionSpec());
    const variant = (change: (resources: Record<string, Record<string, TfBlock>>) => void) => {
      const copy = structuredClone(base.json);
      change(copy.resource ?? {});
      return bucketKeyProblems(new SynthesizedStack(JSON.stringify(copy)));
    };
    const first = (resources: Record<string, Record<string, TfBlock>>, type: string) => Object.values(resources[type] ?? {})[0];
    expect(variant((r) => delete first(r, "google_storage_bucket").encryption)).toEqual([expect.stringContaining("no default Cloud KMS key")]);
    expect(variant((r) => (first(r, "google_storage_bucket").location = "US"))).toEqual([expect.stringContaining("is not in the bucket's location (US)")]);
    expect(variant((r) => {
      for (const grant of Object.values(r.google_kms_crypto_key_iam_member ?? {})) grant.member = "serviceAccount:someone@acme-data-test.iam.gserviceaccount.com";
    })).toEqual([expect.stringContaining("Cloud Storage's service agent may not use the key")]);
  });

  it("setting the default key on an existing bucket updates it in place (google v6.50.0 resource_storage_bucket.go: no ForceNew on encryption)", () => {
    const table = JSON.parse(readFileSync(join(__dirname, "../../scripts/provider-rules/google-6.50.0.json"), "utf8")) as { replaceForcing: Record<string, { attributes: string[]; conditional: { path: string }[] }> };
    const rules = table.replaceForcing.google_storage_bucket;
    expect([...rules.attributes, ...rules.conditional.map((rule) => rule.path)].filter((path) => path.startsWith("encryption"))).toEqual([]);
    expect(rules.attributes).toContain("location");
  });
});

/**
 * Everything wrong with the Cloud SQL keys of one environment's stack: an instance whose database
 * the spec does not waive (`waivers.customerManagedKey`) uses a key of its region (Cloud SQL docs, "Customer-managed
 * encryption keys": the key must be in the instance's region, replicas included) that Cloud SQL's
 * service agent may use, granted before the instance; a waived one has no key.
 */
function cloudSqlKeyProblems(stack: SynthesizedStack, env: Environment): string[] {
  const problems: string[] = [];
  const resources = stack.json.resource ?? {};
  for (const [name, instance] of Object.entries(resources.google_sql_database_instance ?? {})) {
    const database = env.databases.find((db) => name.startsWith(`platform_database-${db.name}_`));
    const wantsKey = database?.waivers.customerManagedKey === undefined;
    const keyRef = /^\$\{google_kms_crypto_key\.([^.]+)\.id\}$/.exec(String(instance.encryption_key_name));
    if (!wantsKey) {
      if (instance.encryption_key_name !== undefined) problems.push(`${name}: a key, though the spec keeps Google's (a new, empty instance)`);
      continue;
    }
    if (!keyRef) {
      problems.push(`${name}: encrypted with Google's key, though the spec asks for the environment's`);
      continue;
    }
    const ringRef = /^\$\{google_kms_key_ring\.([^.]+)\.id\}$/.exec(String(resources.google_kms_crypto_key?.[keyRef[1]]?.key_ring));
    const ring = ringRef ? resources.google_kms_key_ring?.[ringRef[1]] : undefined;
    if (ring?.location !== instance.region) problems.push(`${name}: the key ring (${String(ring?.location)}) is not in the instance's region (${String(instance.region)})`);
    const grant = Object.entries(resources.google_kms_crypto_key_iam_member ?? {}).find(
      ([, g]) => g.crypto_key_id === `\${google_kms_crypto_key.${keyRef[1]}.id}` && g.role === "roles/cloudkms.cryptoKeyEncrypterDecrypter" && CLOUD_SQL_AGENT.test(String(g.member)),
    );
    if (!grant) problems.push(`${name}: Cloud SQL's service agent may not use the key`);
    else if (!((instance.depends_on as string[] | undefined) ?? []).includes(`google_kms_crypto_key_iam_member.${grant[0]}`)) problems.push(`${name}: does not depend on the agent's grant`);
  }
  return problems;
}

/** Cloud SQL's service agent (Cloud SQL docs, "Use customer-managed encryption keys"). */
const CLOUD_SQL_AGENT = /^serviceAccount:service-\$\{data\.google_project\.[^.]+\.number\}@gcp-sa-cloud-sql\.iam\.gserviceaccount\.com$/;

describe("Cloud SQL: customer-managed key, or Google's for an instance created before", () => {
  it.each(stacks)("%s: each instance's key is what its spec asks for", (_, input) => {
    expect(cloudSqlKeyProblems(synthInfra(input), parseEnvironment(input, specChecks))).toEqual([]);
  });

  it("the default environments keep the key of every existing instance (those that name one) and new production specs get the environment's", () => {
    const prod = synthInfra(gcpProductionSpec());
    expect(prod.all("google_sql_database_instance").every((instance) => /google_kms_crypto_key/.test(String(instance.encryption_key_name)))).toBe(true);
  });

  it("the check refuses an instance on Google's key the spec wants on the environment's, a key in another region, a key the agent may not use", () => {
    const input = gcpProductionSpec();
    const base = synthInfra(input);
    const env = parseEnvironment(input, specChecks);
    const variant = (change: (resources: Record<string, Record<string, TfBlock>>) => void) => {
      const copy = structuredClone(base.json);
      change(copy.resource ?? {});
      return cloudSqlKeyProblems(new SynthesizedStack(JSON.stringify(copy)), env);
    };
    const primary = (r: Record<string, Record<string, TfBlock>>) => Object.values(r.google_sql_database_instance ?? {}).find((i) => i.master_instance_name === undefined) as TfBlock;
    expect(variant((r) => delete primary(r).encryption_key_name)).toEqual([expect.stringContaining("encrypted with Google's key")]);
    expect(variant((r) => (primary(r).region = "europe-west4"))).toEqual([expect.stringContaining("is not in the instance's region (europe-west4)")]);
    expect(variant((r) => {
      for (const grant of Object.values(r.google_kms_crypto_key_iam_member ?? {})) grant.member = "serviceAccount:someone@acme-data-test.iam.gserviceaccount.com";
    })).toContainEqual(expect.stringContaining("Cloud SQL's service agent may not use the key"));
    const googleManaged = parseEnvironment({ ...input, databases: (input.databases ?? []).map((db) => ({ ...db, waivers: { customerManagedKey: "created before customer-managed keys (test)" } })) }, specChecks);
    expect(cloudSqlKeyProblems(base, googleManaged)).toContainEqual(expect.stringContaining("a key, though the spec keeps Google's"));
  });

  it("switching an existing instance to the environment's key is a replacement the pull-request gate refuses (encryption_key_name is ForceNew in google v6.50.0)", () => {
    const input = environments.find((env) => env.cloud === "gcp" && (env.databases ?? []).some((db) => db.waivers?.customerManagedKey !== undefined)) as EnvironmentInput;
    const before = synthInfra(input);
    const after = synthInfra({ ...input, databases: (input.databases ?? []).map((db) => ({ ...db, waivers: { ...db.waivers, customerManagedKey: undefined } })) });
    const diff = diffStack(`${input.name}-infra`, parseStack(before.text), parseStack(after.text));
    expect(diff.stateful).toContainEqual(expect.stringMatching(/^google_sql_database_instance\.\S+ replaced: loses the database and its backups$/));
    // And the reverse: keeping Google's key changes nothing on the instance.
    const same = diffStack(`${input.name}-infra`, parseStack(before.text), parseStack(synthInfra(input).text));
    expect(same.stateful).toEqual([]);
  });
});

describe("GCS production buckets: multi-region, like Azure's GZRS", () => {
  it("a production bucket in a European region lives in the EU multi-region, with its key in europe; a staging one stays in its region", () => {
    const prod = synthInfra(gcpProductionSpec());
    for (const bucket of prod.all("google_storage_bucket")) expect(bucket.location).toBe("EU");
    expect(prod.all("google_kms_key_ring").map((ring) => ring.location).sort()).toEqual(["europe", "europe-west1"]);
    const staging = synthInfra(gcpSpec());
    for (const bucket of staging.all("google_storage_bucket")) expect(bucket.location).toBe("europe-west1");
  });

  it("a production bucket kept in its region (waivers.geoRedundant), and a region with no multi-region (its waiver asked by the spec check), stay regional", () => {
    const kept = synthInfra({ ...gcpProductionSpec(), buckets: [{ name: "logs", purpose: "logs", waivers: { geoRedundant: "created in europe-west1 before multi-region buckets" } }] });
    expect(kept.one("google_storage_bucket").location).toBe("europe-west1");
    const spec = gcpProductionSpec();
    const sydney = synthInfra({
      ...spec,
      accounts: { gcp: { region: "australia-southeast1", projectId: "acme-data-test" } },
      buckets: (spec.buckets ?? []).map((bucket) => ({ ...bucket, waivers: { geoRedundant: "australia-southeast1 is in no multi-region (test)" } })),
    });
    for (const bucket of sydney.all("google_storage_bucket")) expect(bucket.location).toBe("australia-southeast1");
    expect(bucketKeyProblems(sydney)).toEqual([]);
  });

  it("a production bucket in a region with no multi-region needs a written waiver; a short reason is refused", () => {
    const problems = (input: EnvironmentInput) => {
      try {
        parseEnvironment(input, specChecks);
        return [];
      } catch (error) {
        return (error as Error).message.split("\n").filter((line) => line.includes("buckets["));
      }
    };
    const spec = { ...gcpProductionSpec(), accounts: { gcp: { region: "australia-southeast1", projectId: "acme-data-test" } } };
    expect(problems(spec)).toEqual([expect.stringContaining("buckets[0].waivers.geoRedundant: given nothing; accepted: a written reason: production buckets are multi-regional, and australia-southeast1 is in no Cloud Storage multi-region (europe-*, us-*, asia-*)")]);
    const short = { ...spec, buckets: (spec.buckets ?? []).map((bucket) => ({ ...bucket, waivers: { geoRedundant: "no region" } })) };
    expect(problems(short)).toEqual([expect.stringContaining('buckets[0].waivers.geoRedundant: given "no region"; accepted: a written reason of at least 20 characters')]);
    // A European production region has its multi-region: no waiver asked.
    expect(problems(gcpProductionSpec())).toEqual([]);
  });

  it("moving an existing bucket is a replacement the pull-request gate refuses (location is ForceNew in google v6.50.0)", () => {
    const input = { ...gcpProductionSpec(), buckets: [{ name: "logs", purpose: "logs" as const, waivers: { geoRedundant: "created in europe-west1 before multi-region buckets" } }] };
    const before = synthInfra(input);
    const after = synthInfra({ ...input, buckets: [{ name: "logs", purpose: "logs" as const }] });
    const diff = diffStack("live-infra", parseStack(before.text), parseStack(after.text));
    expect(diff.stateful).toContainEqual(expect.stringMatching(/^google_storage_bucket\.\S+ replaced: loses every object in the bucket$/));
  });
});

