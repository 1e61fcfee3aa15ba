/**
 * Every synthesized apps stack checked the way Kubernetes would check it, not against our own
 * expectations: the API server's name rules and schemas (core kinds at Kubernetes 1.31, custom
 * resources at the pinned operators' CRDs), Pod Security admission of every pod in its
 * namespace (ours and the charts'), and the placement rule against the spot taints that the
 * infra stack of the same environment puts on its spot nodes.
 *
 * The stacks: every default environment (derived from `environments/`), and every app on every
 * cloud, production and not, on a cluster with a spot pool.
 */
import { Testing } from "cdktn";
import { describe, expect, it } from "vitest";
import { CLOUDS, parseEnvironment, type EnvironmentInput } from "../constructs/core/spec";
import { environments } from "../environments";
import { AppsStack } from "../stacks/apps";
import { InfraStack } from "../stacks/infra";
import { everyAppSpec } from "./support/fixtures";
import { bitnamiImageProblems, namespaceLevelProblems, namespacePodSecurity, objectProblems, orderingProblems, placementProblems, podSecurityProblems, spotPoolTaints, stackPods, unexplainedNamespaceLevels, unnamedFailingPods } from "./support/kubernetes/checks";
import { renderedApps, type RenderedApps } from "../scripts/rendered-apps";
import { releaseContracts } from "./support/chart-contract";
import { stackJson, stackNames, synthDefaults } from "./support/outdir";

interface StackCase {
  readonly label: string;
  readonly text: string;
  readonly apps: RenderedApps;
  readonly infra: string;
}

function synthesized(input: EnvironmentInput): { apps: string; infra: string } {
  const env = parseEnvironment(input);
  return { apps: Testing.synth(new AppsStack(Testing.app(), env)), infra: Testing.synth(new InfraStack(Testing.app(), env)) };
}

const outdir = synthDefaults();
const defaultCases: StackCase[] = environments
  .filter((env) => stackNames(outdir).includes(`${env.name}-apps`))
  .map((env) => {
    const text = stackJson(outdir, `${env.name}-apps`);
    return { label: `${env.name}-apps`, text, apps: renderedApps(text), infra: stackJson(outdir, `${env.name}-infra`) };
  });
const everyAppCases: StackCase[] = CLOUDS.flatMap((cloud) =>
  [false, true].map((production) => {
    const { apps, infra } = synthesized(everyAppSpec(cloud, production));
    return { label: `every app on ${cloud}${production ? " in production" : ""}`, text: apps, apps: renderedApps(apps), infra };
  }),
);
const cases = [...defaultCases, ...everyAppCases];

describe.each(cases.map((c) => [c.label, c] as const))("%s, as Kubernetes sees it", (_, { text, apps, infra }) => {
  it("names every object and every reference the way the API server requires, and each object fits its schema (core kinds at 1.31, custom resources at the pinned CRDs)", () => {
    expect(apps.objects.length).toBeGreaterThan(0);
    expect(objectProblems(apps)).toEqual([]);
  });

  it("pulls no image from Bitnami's frozen repositories (bitnamilegacy): DataHub's Kafka is Strimzi's", () => {
    expect(bitnamiImageProblems(apps)).toEqual([]);
  });

  it("installs nothing before what it needs: custom resources after the release with their CRDs and webhook, every release after its namespaces", () => {
    expect(orderingProblems(text, apps)).toEqual([]);
  });

  it("runs every pod, ours and the charts', in a namespace the stack creates and whose enforced Pod Security level admits it", () => {
    const { manifests, charts } = stackPods(apps);
    expect(manifests.length + charts.length).toBeGreaterThan(0);
    expect(podSecurityProblems(apps)).toEqual([]);
  });

  it("enforces in every namespace the strictest Pod Security level all its pods pass, and says why (naming the pods) wherever that is less than restricted", () => {
    expect(namespaceLevelProblems(apps)).toEqual([]);
    expect(unexplainedNamespaceLevels(apps)).toEqual([]);
    expect(unnamedFailingPods(apps)).toEqual([]);
  });

  describe.each(namespacePodSecurity(apps).map((namespace) => [namespace.namespace, namespace] as const))("namespace %s", (_, { enforced, strictest, violations }) => {
    it("enforces the strictest level all its pods pass: restricted unless a named pod fails it", () => {
      // The violations ride along so a failure shows which pods set the level.
      expect({ enforced, violations }).toEqual({ enforced: strictest, violations });
    });
  });

  it("gives volume claims a default StorageClass: the platform's on EKS (none since 1.30), the cloud's own on AKS and GKE", () => {
    const defaults = apps.objects.filter(({ object }) => object.kind === "StorageClass" && object.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
    expect(defaults).toHaveLength(JSON.parse(infra).resource?.aws_eks_cluster ? 1 : 0);
  });

  // The chart contracts (shared/charts) over every release as synthesized: an environment's own
  // `values` (apps[].values, merged last) are checked here, where the contracts are.
  it("gives every release of a chart with a contract values that pass it at its version (key paths and values.schema.json), and says which checks did not run where the version has no contract", () => {
    const report = releaseContracts(text);
    for (const line of report.unchecked) process.stdout.write(`chart contract not checked: ${line}\n`);
    expect(report.checked.length).toBeGreaterThan(0);
    expect(report.problems).toEqual([]);
  });

  it("puts every spot pool under a taint", () => {
    expect(spotPoolTaints(infra).filter((taints) => taints.length === 0)).toEqual([]);
  });

  it("keeps stateful pods off spot nodes and lets stateless and batch pods use them (the taints read from the infra stack)", () => {
    const taints = spotPoolTaints(infra).flat();
    const { manifests, charts } = stackPods(apps);
    // The project's own pods are bootstrap jobs: batch work.
    const jobs = manifests.map(({ name, namespace, pod, tolerations }) => ({ name, namespace, pod, tolerations, template: name, onDemandOnly: false as const }));
    expect(placementProblems([...charts, ...jobs], taints)).toEqual([]);
  });
});

describe("the placement check has spot pools to check against", () => {
  it.each(CLOUDS)("on %s", (cloud) => {
    const covered = everyAppCases.filter((c) => c.label.includes(cloud)).map((c) => spotPoolTaints(c.infra).flat().length);
    expect(covered.every((count) => count > 0)).toBe(true);
  });
});
