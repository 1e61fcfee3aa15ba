import { join } from "node:path";
import { Construct } from "constructs";
import { AssetType, TerraformAsset, TerraformStack, type ITerraformDependable } from "cdktn";
import { Release } from "@cdktf/provider-helm/lib/release";
import type { ChartRef } from "./types";

export interface HelmReleaseProps {
  readonly name: string;
  readonly namespace: string;
  readonly chart: ChartRef;
  readonly values: Record<string, unknown>;
  readonly dependsOn?: ITerraformDependable[];
  /** Seconds Helm waits for the release's pods and jobs. @default 900 */
  readonly timeoutSeconds?: number;
}

/**
 * A pinned Helm release. Values are rendered once, as JSON (valid YAML), so the synthesized
 * plan shows exactly what Helm receives. Helm waits for pods and hook jobs, and a failed
 * upgrade is cleaned up, so a broken release fails the apply instead of lingering.
 */
export class HelmRelease extends Construct {
  readonly release: Release;

  constructor(scope: Construct, id: string, props: HelmReleaseProps) {
    super(scope, id);
    this.release = new Release(this, "Resource", {
      name: props.name,
      namespace: props.namespace,
      repository: props.chart.repository || undefined,
      chart: props.chart.chart,
      version: props.chart.version,
      values: [JSON.stringify(props.values, null, 2)],
      wait: true,
      waitForJobs: true,
      cleanupOnFail: true,
      maxHistory: 10,
      timeout: props.timeoutSeconds ?? 900,
      dependsOn: props.dependsOn,
    });
  }
}

/** A Kubernetes object as the manifests chart takes it. */
export type Manifest = Record<string, unknown> & { readonly apiVersion: string; readonly kind: string; readonly metadata: Record<string, unknown> };

/**
 * The project's own `platform-manifests` chart, copied into each stack's output as an asset so a
 * stack's directory is self-contained. Used for custom resources (their CRDs arrive with a
 * release in the same apply, which `kubernetes_manifest` cannot plan) and bootstrap jobs.
 */
function manifestsChart(scope: Construct): ChartRef {
  const stack = TerraformStack.of(scope);
  const id = "platform-manifests-chart";
  const existing = stack.node.tryFindChild(id);
  const asset = existing instanceof TerraformAsset ? existing : new TerraformAsset(stack, id, { path: join(__dirname, "manifests-chart"), type: AssetType.DIRECTORY });
  return { repository: "", chart: `./${asset.path}`, version: "1.0.0" };
}

export interface ManifestsReleaseProps {
  readonly name: string;
  readonly namespace: string;
  readonly manifests: readonly Manifest[];
  readonly dependsOn?: ITerraformDependable[];
}

/** Applies a list of Kubernetes objects as one Helm release. */
export class ManifestsRelease extends HelmRelease {
  readonly manifests: readonly Manifest[];

  constructor(scope: Construct, id: string, props: ManifestsReleaseProps) {
    super(scope, id, { ...props, chart: manifestsChart(scope), values: { manifests: props.manifests } });
    this.manifests = props.manifests;
  }
}
