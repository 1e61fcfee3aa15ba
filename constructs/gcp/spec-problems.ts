import { isNetworkAligned, isPrivateRange, parseCidr } from "../core/cidr";
import { SUBNET_PLAN_LIMITS } from "../core/network-plan";
import { gcpZoneNames } from "../core/regions";
import { eachKnown, known, specSecretNames, type Environment, type Report } from "../core/spec";
import { GCS_MULTI_REGIONS, MAX_LOG_BUCKET_RETENTION_DAYS, MAX_SUBJECT_BYTES, planGcpAddresses, podRangeProblem, subjectOverLimit } from "./facts";
import { gcpLabelClashes } from "./labels";

/**
 * The spec rules only GCP has, checked with every other spec rule (constructs/platform.ts runs
 * the one of the environment's cloud), so they are reported with the file and together with the
 * rest. Pure: they read the spec, its Terraform Cloud workspaces and the address plan the GCP
 * network is built from.
 */
export function gcpSpecProblems(env: Environment, report: Report, workspaces: readonly string[]): void {
  if (env.cloud !== "gcp") return;
  // Secret Manager secret ids: 1-255 letters, digits, '_' and '-' (cloud.google.com/secret-manager/
  // docs/reference/rest/v1/projects.secrets/create, `secretId`).
  for (const { path, name } of specSecretNames(env)) {
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) report(path, name, "on GCP, a Secret Manager secret id: 1 to 255 letters, digits, '_' and '-'");
  }
  known(() => {
    const days = env.cluster.logRetentionDays;
    if (days > MAX_LOG_BUCKET_RETENTION_DAYS) report(["cluster", "logRetentionDays"], days, `on GCP at most ${MAX_LOG_BUCKET_RETENTION_DAYS} days, the most a Cloud Logging bucket keeps`);
  });
  known(() => {
    for (const clash of gcpLabelClashes(env)) {
      report(["tags", clash.given], clash.given, `a key that stays distinct from "${clash.other}" as a GCP label (lowercase letters, digits, _ and -): both become "${clash.label}"`);
    }
  });
  known(() => {
    // Only on a network the spec's own checks accept: they report the others.
    const cidr = parseCidr(env.network.cidr);
    const { minPrefix, maxPrefix } = SUBNET_PLAN_LIMITS;
    if (!cidr || !isNetworkAligned(cidr) || !isPrivateRange(cidr) || cidr.prefix < minPrefix || cidr.prefix > maxPrefix) return;
    const zones = gcpZoneNames(env.accounts.gcp?.region ?? "", env.network.zones).length;
    const problem = podRangeProblem(env, planGcpAddresses(env), zones);
    const maxNodes = Object.fromEntries(env.cluster.nodePools.map((pool) => [pool.name, pool.maxNodes]));
    if (problem !== undefined) report(["cluster", "nodePools"], maxNodes, `maxNodes adding up to ${problem}`);
  });
  known(() => {
    // Production buckets live in the multi-region of the environment's region (bucket.ts): a region
    // outside EU, US and ASIA has none, so the bucket stays regional only with a written waiver.
    const region = env.accounts.gcp?.region ?? "";
    if (!env.production || GCS_MULTI_REGIONS.some((multi) => region.startsWith(multi.prefix))) return;
    eachKnown(env.buckets, (bucket, index) => {
      if (bucket.waivers.geoRedundant === undefined) {
        report(["buckets", index, "waivers", "geoRedundant"], undefined, `a written reason: production buckets are multi-regional, and ${region} is in no Cloud Storage multi-region (${GCS_MULTI_REGIONS.map((m) => `${m.prefix}*`).join(", ")})`);
      }
    });
  });
  known(() => {
    const cloud = env.terraformCloud;
    if (!cloud) return;
    for (const workspace of workspaces) {
      const bytes = subjectOverLimit(cloud.organization, cloud.project, workspace);
      if (bytes !== undefined) {
        report(
          ["terraformCloud"],
          { organization: cloud.organization, project: cloud.project },
          `names short enough that the run token subject of workspace ${workspace} fits GCP's ${MAX_SUBJECT_BYTES}-byte limit for google.subject (it is ${bytes} bytes)`,
        );
        return;
      }
    }
  });
}
