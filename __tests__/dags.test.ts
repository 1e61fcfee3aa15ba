/**
 * A team's DAGs and images (`apps[].dags`, `apps[].image`), on real synthesized stacks of every
 * cloud: the Airflow values pass the chart 1.19.0 contract; the git credential reaches the chart's
 * Secret through an ExternalSecret (ESO v2.9.0 CRD schema) from a store whose identity may read
 * that one secret (the clouds' IAM rules, support/permissions.ts); the git-sync containers the
 * chart's templates render (support/kubernetes/chart-pods.ts) pass Pod Security `restricted`; the
 * NetworkPolicies let git-sync reach the git host over SSH from the pods that run it and no
 * other airflow pod; and the spec refuses each misuse with one message.
 */
import { describe, expect, it } from "vitest";
import { Testing } from "cdktn";
import { CLOUDS, parseEnvironment, type Cloud, type EnvironmentInput } from "../constructs/core/spec";
import { AppsStack } from "../stacks/apps";
import { InfraStack } from "../stacks/infra";
import { everyAppSpec, specProblems } from "./support/fixtures";
import { loadChart, mergeValues, schemaErrors, unknownPaths } from "./support/chart-contract";
import { objectProblems, podSecurityProblems } from "./support/kubernetes/checks";
import { chartPods } from "./support/kubernetes/chart-pods";
import { renderedApps, type KubeObject } from "../scripts/rendered-apps";
import { allows, type ClusterPolicies, type NetworkPolicy } from "./support/kubernetes/network-policy";
import { userSecretReadProblems, type StackJson } from "./support/permissions";
import { GIT_CREDENTIALS_SECRET } from "../constructs/apps/dags";

const KNOWN_HOSTS = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const IMAGE = { repository: "registry.example.com/data/airflow", tag: "3.1.7-team.4", digest: `sha256:${"a".repeat(64)}` };

function withAirflow(cloud: Cloud, airflow: Record<string, unknown>, metabase: Record<string, unknown> = {}): EnvironmentInput {
  const input = everyAppSpec(cloud, true);
  const apps = (input.apps ?? []).map((app) => (app.name === "airflow" ? { ...app, ...airflow } : app.name === "metabase" ? { ...app, ...metabase } : app));
  return { ...input, apps } as EnvironmentInput;
}

const ssh = (cloud: Cloud) =>
  withAirflow(cloud, { dags: { gitSync: { repository: "git@github.com:acme/dags.git", ref: "main", subPath: "dags", credentialSecret: "airflow-dags-deploy-key", knownHosts: KNOWN_HOSTS } } });
const https = (cloud: Cloud) =>
  withAirflow(cloud, { image: IMAGE, dags: { gitSync: { repository: "https://github.com/acme/dags.git", rev: "0123456789abcdef0123456789abcdef01234567", credentialSecret: "airflow-dags-token" } } }, { image: { repository: "registry.example.com/bi/metabase", tag: "v0.56.6" } });

/**
 * How git-sync v4.4.2 picks what to check out from the chart's variables (_helpers.yaml
 * L280-285 renders GIT_SYNC_REV, GITSYNC_REF and GIT_SYNC_BRANCH): kubernetes/git-sync v4.4.2
 * main.go L421-436, the deprecated --branch/--rev (GIT_SYNC_BRANCH, GIT_SYNC_REV) over --ref.
 */
function gitSyncRef(env: { GITSYNC_REF: string; GIT_SYNC_BRANCH: string; GIT_SYNC_REV: string }): string {
  const { GIT_SYNC_BRANCH: branch, GIT_SYNC_REV: rev } = env;
  let ref = env.GITSYNC_REF;
  if (branch !== "" && (rev === "" || rev === "HEAD")) ref = branch;
  else if (rev !== "" && branch === "") ref = rev;
  else if (branch !== "" && rev !== "") throw new Error("deprecated flag combo: can't set --ref from deprecated --branch and --rev");
  if (ref === "") throw new Error("required flag: --ref must be specified");
  return ref;
}

function synth(input: EnvironmentInput) {
  const env = parseEnvironment(input);
  const text = Testing.synth(new AppsStack(Testing.app(), env));
  return { env, apps: renderedApps(text), infra: JSON.parse(Testing.synth(new InfraStack(Testing.app(), env))) as StackJson };
}

const objectsOf = (apps: ReturnType<typeof renderedApps>) =>
  apps.objects.map((located) => ({ ...located.object, metadata: { ...located.object.metadata, namespace: located.object.metadata.namespace ?? located.releaseNamespace } }) as KubeObject);

describe.each(CLOUDS.map((cloud) => [cloud] as const))("DAGs and images on %s", (cloud) => {
  const viaSsh = synth(ssh(cloud));
  const viaHttps = synth(https(cloud));
  const airflowOf = (s: typeof viaSsh) => s.apps.releases.find((release) => release.name === "airflow");

  it("passes the Airflow and Metabase chart contracts", () => {
    for (const s of [viaSsh, viaHttps]) {
      const chart = loadChart("airflow");
      const values = airflowOf(s)?.values ?? {};
      expect(unknownPaths(chart, values)).toEqual([]);
      expect(schemaErrors(chart, values)).toEqual([]);
    }
    const metabase = viaHttps.apps.releases.find((release) => release.name === "metabase")?.values ?? {};
    expect(unknownPaths(loadChart("metabase"), metabase)).toEqual([]);
    expect(schemaErrors(loadChart("metabase"), metabase)).toEqual([]);
    expect(metabase.image).toEqual({ repository: "registry.example.com/bi/metabase", tag: "v0.56.6" });
    // Task pods read images.pod_template, Airflow's own pods images.airflow: both the team's.
    const images = airflowOf(viaHttps)?.values.images as Record<string, unknown>;
    expect(images.airflow).toEqual({ repository: IMAGE.repository, tag: `${IMAGE.tag}@${IMAGE.digest}` });
    expect(images.pod_template).toEqual(images.airflow);
  });

  it("git-sync v4.4.2 checks out the spec's ref or commit from the variables the chart renders", () => {
    for (const [s, target] of [[viaSsh, "main"], [viaHttps, "0123456789abcdef0123456789abcdef01234567"]] as const) {
      const values = mergeValues(loadChart("airflow").defaults, airflowOf(s)?.values ?? {}) as { dags: { gitSync: { ref: string; branch: string; rev: string } } };
      const { ref, branch, rev } = values.dags.gitSync;
      expect(gitSyncRef({ GITSYNC_REF: ref, GIT_SYNC_BRANCH: branch, GIT_SYNC_REV: rev })).toBe(target);
    }
    // The resolution refuses what git-sync refuses, and lets the chart's default branch win over `ref`.
    expect(() => gitSyncRef({ GITSYNC_REF: "main", GIT_SYNC_BRANCH: "main", GIT_SYNC_REV: "0123" })).toThrow(/deprecated flag combo/);
    expect(gitSyncRef({ GITSYNC_REF: "main", GIT_SYNC_BRANCH: "v2-2-stable", GIT_SYNC_REV: "HEAD" })).toBe("v2-2-stable");
  });

  it("syncs the credential into the Secret the chart reads, through a store that may read that one secret", () => {
    for (const [s, secret, keys] of [
      [viaSsh, "airflow-dags-deploy-key", ["gitSshKey"]],
      [viaHttps, "airflow-dags-token", ["GITSYNC_PASSWORD", "GITSYNC_USERNAME", "GIT_SYNC_PASSWORD", "GIT_SYNC_USERNAME"]],
    ] as const) {
      const external = objectsOf(s.apps).find((object) => object.kind === "ExternalSecret" && object.metadata.name === GIT_CREDENTIALS_SECRET);
      const spec = external?.spec as { data: { secretKey: string; remoteRef: { key: string } }[]; secretStoreRef: { name: string } };
      expect(spec.data.map((entry) => entry.secretKey).sort()).toEqual([...keys].sort());
      expect(new Set(spec.data.map((entry) => entry.remoteRef.key))).toEqual(new Set([secret]));
      expect(external?.metadata.namespace).toBe("airflow");
      const stacks = { env: s.env, infra: s.infra, apps: undefined, gitops: undefined };
      expect(userSecretReadProblems(stacks, [secret], { namespace: "airflow", serviceAccount: "airflow-dags-secrets" })).toEqual([]);
      expect(userSecretReadProblems(stacks, [], { namespace: "monitoring", serviceAccount: "monitoring-secrets" })).toEqual([]);
      const gitSync = (airflowOf(s)?.values.dags as { gitSync: Record<string, unknown> } | undefined)?.gitSync ?? {};
      expect(gitSync[secret === "airflow-dags-token" ? "credentialsSecret" : "sshKeySecret"]).toBe(GIT_CREDENTIALS_SECRET);
      expect(JSON.stringify(s.apps.objects)).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    }
  });

  it("renders objects Kubernetes accepts and git-sync containers that pass Pod Security restricted", () => {
    for (const s of [viaSsh, viaHttps]) {
      expect(objectProblems(s.apps)).toEqual([]);
      expect(podSecurityProblems(s.apps)).toEqual([]);
      const names = chartPods(airflowOf(s) as NonNullable<ReturnType<typeof airflowOf>>).flatMap((pod) => [...(pod.pod.initContainers ?? []), ...pod.pod.containers].map((c) => `${pod.name}/${c.name}`));
      expect(names).toEqual(expect.arrayContaining(["airflow/dagProcessor/git-sync-init", "airflow/dagProcessor/git-sync", "airflow/triggerer/git-sync", "airflow/workers/git-sync-init"]));
    }
  });

  it("the model refuses the chart's default git-sync security context under restricted", () => {
    const release = airflowOf(viaSsh) as NonNullable<ReturnType<typeof airflowOf>>;
    const values = structuredClone(release.values) as { dags: { gitSync: Record<string, unknown> } };
    delete values.dags.gitSync.securityContexts;
    const apps = { ...viaSsh.apps, releases: viaSsh.apps.releases.map((r) => (r === release ? { ...release, values } : r)) };
    expect(podSecurityProblems(apps).join("\n")).toMatch(/git-sync/);
  });

  it("lets the DAG processor and triggerer reach the git host over SSH, and no other airflow pod", () => {
    const objects = objectsOf(viaSsh.apps);
    const labels = new Map(objects.filter((o) => o.kind === "Namespace").map((o) => [String(o.metadata.name), o.metadata.labels ?? {}]));
    labels.set("kube-system", {});
    const cluster: ClusterPolicies = { cni: cloud === "aws" ? "vpc-cni" : "cilium", policies: objects.filter((o) => o.kind === "NetworkPolicy") as unknown as NetworkPolicy[], namespaces: labels };
    const host = { ip: "140.82.121.4" };
    const pod = (component: string) => ({ namespace: "airflow", labels: { tier: "airflow", component, release: "airflow" } });
    expect(allows(cluster, { from: pod("dag-processor"), to: host, port: 22 })).toBe(true);
    expect(allows(cluster, { from: pod("triggerer"), to: host, port: 22 })).toBe(true);
    expect(allows(cluster, { from: pod("api-server"), to: host, port: 22 })).toBe(false);
    expect(allows(cluster, { from: pod("dag-processor"), to: host, port: 2222 })).toBe(false);
  });
});

describe("the spec refuses misused DAGs and images", () => {
  const base = (airflow: Record<string, unknown>, cloud: Cloud = "aws", metabase: Record<string, unknown> = {}) => specProblems(withAirflow(cloud, airflow, metabase));
  it.each([
    ["a moving tag", { image: { repository: "registry.example.com/a", tag: "latest" } }, /apps\[\d+\]\.image\.tag.*pinned version tag/],
    ["gitSync and image both", { image: IMAGE, dags: { image: true, gitSync: { repository: "https://github.com/a/b.git", ref: "main" } } }, /apps\[\d+\]\.dags.*exactly one of gitSync/],
    ["dags.image without an image", { dags: { image: true } }, /apps\[\d+\]\.dags\.image.*only with the app's own image/],
    ["ref and rev both", { dags: { gitSync: { repository: "https://github.com/a/b.git", ref: "main", rev: "0123456789abcdef0123456789abcdef01234567" } } }, /exactly one of ref/],
    ["SSH without known hosts", { dags: { gitSync: { repository: "git@github.com:a/b.git", ref: "main", credentialSecret: "k" } } }, /knownHosts.*without them git-sync would accept any host key/],
    ["credentials in the URL", { dags: { gitSync: { repository: "https://user:token@github.com/a/b.git", ref: "main" } } }, /repository.*without credentials/],
  ])("%s", (_, airflow, message) => {
    const problems = base(airflow);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it("dags on metabase, an image on grafana", () => {
    const onMetabase = base({}, "aws", { dags: { image: true } });
    expect(onMetabase).toHaveLength(1);
    expect(onMetabase[0]).toMatch(/dags only on the airflow app/);
    const input = everyAppSpec("aws", true);
    const grafana = specProblems({ ...input, apps: (input.apps ?? []).map((app) => (app.name === "grafana" ? { ...app, image: IMAGE } : app)) });
    expect(grafana).toHaveLength(1);
    expect(grafana[0]).toMatch(/image only on airflow or metabase/);
  });

  it("a credential secret name the cloud refuses", () => {
    // Key Vault secret names: letters, digits and '-' (constructs/azure/spec-problems.ts).
    const problems = base({ dags: { gitSync: { repository: "https://github.com/a/b.git", ref: "main", credentialSecret: "team/dags_token" } } }, "azure");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/dags\.gitSync\.credentialSecret/);
  });
});
