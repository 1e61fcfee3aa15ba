import { dagCredentialManifests } from "../constructs/apps/dags";
import type { Construct } from "constructs";
import { TerraformStack, type ITerraformDependable } from "cdktn";
import { configureTerraform } from "./backend";
import { KubernetesProvider } from "@cdktf/provider-kubernetes/lib/provider";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { StorageClassV1 } from "@cdktf/provider-kubernetes/lib/storage-class-v1";
import { PlatformAddons, CLUSTER_ISSUER, INGRESS_CLASS } from "../constructs/apps/addons";
import { APP_RENDERERS } from "../constructs/apps/catalogue";
import { withUserValues } from "../constructs/apps/user-values";
import { tolerationOf } from "../constructs/apps/common";
import { HelmRelease, ManifestsRelease } from "../constructs/apps/helm";
import { scaledResources } from "../constructs/apps/scale";
import type { AppContext } from "../constructs/apps/types";
import { AppWiring, weakestPodSecurity } from "../constructs/apps/wiring";
import { Observability } from "../constructs/apps/observability";
import { ClusterNetworkPolicies, createdNamespaces } from "../constructs/apps/network-policies";
import { appSso, SingleSignOn, ssoClientHandover } from "../constructs/apps/sso";
import { APP_CATALOGUE, untrustedAccount } from "../constructs/core/apps";
import type { ClusterServices, WorkloadBinding } from "../constructs/core/interfaces";
import { placedOn, metricsLinks, type AppSpec, type Environment } from "../constructs/core/spec";
import { foreignBucketsOf, platformFor, withForeignDatabases } from "../constructs/platform";
import { receiverOf } from "./crossings";

/** The binding of a workload without a cloud identity: no annotation, no pod label. */
const NO_CLOUD_IDENTITY: WorkloadBinding = { serviceAccountAnnotations: {}, podLabels: {} };

export interface AppsStackOptions {
  /** Every environment, to resolve the metrics hub links (`metrics` in the spec). @default this one alone */
  readonly environments?: readonly Environment[];
  /** The file the environment is written in, for messages. @default none */
  readonly source?: string;
}

/**
 * `<env>-apps`: the platform add-ons and the data apps on the environment's cluster. It shares
 * nothing with `<env>-infra` but names: the cluster, databases, buckets and identities are found
 * by the deterministic names the infra stack gave them, so the two stacks (and Terraform Cloud
 * workspaces) stay independent; apply infra first.
 */
export class AppsStack extends TerraformStack {
  constructor(scope: Construct, readonly env: Environment, options: AppsStackOptions = {}) {
    super(scope, `${env.name}-apps`);
    configureTerraform(this, env, "apps");

    const services = withForeignDatabases(env, platformFor(this, env).clusterServices(), receiverOf(this, env, "apps").receive);
    const connection = services.connection;
    const kubernetes = {
      host: connection.host,
      clusterCaCertificate: connection.clusterCaCertificate,
      token: connection.token,
      exec: connection.exec ? { apiVersion: connection.exec.apiVersion, command: connection.exec.command, args: [...connection.exec.args] } : undefined,
    };
    new KubernetesProvider(this, "kubernetes", { ...kubernetes, exec: kubernetes.exec ? [kubernetes.exec] : undefined });
    new HelmProvider(this, "helm", { kubernetes });

    const storage = services.defaultStorageClass;
    const storageClass = storage
      ? new StorageClassV1(this, "default-storage-class", {
          metadata: { name: storage.name, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
          storageProvisioner: storage.provisioner,
          parameters: { ...storage.parameters },
          // A deleted claim keeps its volume in production, so data is never lost by accident.
          reclaimPolicy: env.production ? "Retain" : "Delete",
          volumeBindingMode: "WaitForFirstConsumer",
          allowVolumeExpansion: true,
        })
      : undefined;
    const links = metricsLinks(env, options.environments ?? [env]);
    const addons = new PlatformAddons(this, "addons", { env, services });
    // Every release may claim volumes: none installs before the default class exists.
    const ready = [...addons.ready, ...(storageClass ? [storageClass] : [])];
    // Single sign-on (`sso`): the client secret's namespace and the authenticating proxies.
    const sso =
      env.sso === undefined
        ? undefined
        : new SingleSignOn(this, "sso", { env, services, replicas: env.production ? 2 : 1, production: env.production, tolerations: [tolerationOf(services.spotTaint)], dependsOn: ready });
    // Every cluster gets monitoring. Listing the app gives its Grafana a host name and the app a
    // cloud identity (the infra stack creates identities for listed apps only). No app waits for
    // it: none renders a monitoring custom resource.
    const listed = env.apps.find((a) => a.name === "monitoring");
    const monitoring = listed ?? { name: "monitoring", size: env.production ? "medium" : "small" };
    let monitoringRelease: ITerraformDependable[] = [];
    const appsWiring: ITerraformDependable[] = [];
    for (const app of [monitoring, ...env.apps.filter((a) => a.name !== "monitoring")]) {
      const binding = app === monitoring && !listed ? NO_CLOUD_IDENTITY : services.workloadBinding(app.name);
      const untrusted = untrustedAccount(app.name, env.cloud);
      // The untrusted account carries the app's identity only where it needs it (APP_CATALOGUE).
      const untrustedBinding = untrusted?.cloudIdentity ? binding : NO_CLOUD_IDENTITY;
      const ctx = {
        ...this.appContext(env, app, services, binding),
        ...(untrusted ? { untrustedAccount: { serviceAccount: untrusted.serviceAccount, podLabels: untrustedBinding.podLabels } } : {}),
        ...(app === monitoring ? { metricsLinks: links } : {}),
      };
      // The spec's values and chart versions (apps[].values, apps[].chartVersion), merged last, here only.
      const platformManifests = [
        ...(ctx.sso?.mode === "oidc" ? ssoClientHandover(ctx.app, ctx.namespace) : []),
        // The DAG repository's credential, through the airflow namespace's own store (dags.ts).
        ...(ctx.app === "airflow" ? dagCredentialManifests(services, app) : []),
      ];
      const releases = withUserValues(ctx, app, APP_RENDERERS[ctx.app](ctx), options.source, platformManifests);
      const wiring = new AppWiring(this, `${ctx.app}-wiring`, {
        app: ctx.app,
        namespace: ctx.namespace,
        serviceAccount: ctx.serviceAccount,
        binding,
        untrustedAccount: untrusted ? { name: untrusted.serviceAccount, binding: untrustedBinding } : undefined,
        database: ctx.database && app.database !== undefined ? { ...ctx.database, admin: services.adminCredentials(this.databaseSpec(env, app.database)) } : undefined,
        generatedSecrets: releases.flatMap((release) => release.generatedSecrets),
        manifests: releases.flatMap((release) => release.wiring ?? []),
        namespaceRules: releases.flatMap((release) => release.namespaceRules ?? []),
        privilegedNamespaces: releases.flatMap((release) => release.privilegedNamespaces ?? []),
        podSecurity: weakestPodSecurity(releases),
        // An app that signs users in itself reads the client secret from the sso namespace.
        dependsOn: ctx.sso?.mode === "oidc" && sso ? [...ready, sso.namespace] : ready,
        spotTolerations: ctx.spotTolerations,
        extraManifests: platformManifests,
      });
      appsWiring.push(...wiring.ready);
      let previous = wiring.ready;
      for (const release of releases) {
        const installed = new HelmRelease(this, `${ctx.app}-${release.name}`, {
          name: release.name,
          namespace: release.namespace ?? ctx.namespace,
          chart: release.chart,
          values: release.values,
          dependsOn: previous,
          timeoutSeconds: 1800,
        });
        previous = [installed.release];
        if (release.resources !== undefined && release.resources.length > 0) {
          // The operator's custom resources, once its CRDs and controller are in; the next release waits for them.
          const resources = new ManifestsRelease(this, `${ctx.app}-${release.name}-resources`, {
            name: `${release.name}-resources`,
            namespace: ctx.namespace,
            manifests: release.resources,
            dependsOn: previous,
          });
          previous = [resources.release];
        }
      }
      if (app === monitoring) monitoringRelease = previous;
    }
    // The observability release also waits for every app's wiring: its bootstrap jobs work in the apps' databases.
    new Observability(this, "observability", { env, services, links, dependsOn: monitoringRelease, appsWiring });
    // Default deny in every namespace created above, with the flows each one's pods need.
    new ClusterNetworkPolicies(this, "network-policies", { env, network: services.podNetwork, metricsHub: links.senders.length > 0, namespaces: createdNamespaces(this) });
  }

  private databaseSpec(env: Environment, name: string) {
    const spec = env.databases.find((db) => db.name === name);
    if (!spec) throw new Error(`app database ${name} is not in the spec (the spec check should have caught this)`);
    return spec;
  }

  private appContext(env: Environment, app: AppSpec, services: ClusterServices, binding: WorkloadBinding): AppContext {
    const needs = APP_CATALOGUE[app.name];
    const size = app.size;
    return {
      env,
      app: app.name,
      size,
      namespace: needs.namespace,
      serviceAccount: needs.serviceAccount,
      podLabels: binding.podLabels,
      database:
        app.database === undefined
          ? undefined
          : { host: services.databaseHost(this.databaseSpec(env, app.database)), port: 5432, name: app.name, user: app.name, secretName: `${app.name}-database` },
      ...this.appBucket(env, app, services),
      ingress:
        app.host === undefined
          ? undefined
          : { host: app.host, className: INGRESS_CLASS, tlsSecretName: `${app.name}-tls`, annotations: { "cert-manager.io/cluster-issuer": CLUSTER_ISSUER } },
      replicas: env.production ? 2 : 1,
      disruptionBudgets: env.production,
      resources: (base) => scaledResources(base, size),
      spotTolerations: [tolerationOf(services.spotTaint)],
      sso: appSso(env, app.name, app.host !== undefined),
    };
  }

  /** The app's bucket, on the cluster's cloud or another one (with what its pods need to reach it there). */
  private appBucket(env: Environment, app: AppSpec, services: ClusterServices): Pick<AppContext, "bucket" | "bucketCredentials"> {
    if (app.bucket === undefined) return {};
    const spec = this.bucketSpec(env, app.bucket);
    const cloud = placedOn(env, spec);
    if (cloud === env.cloud) return { bucket: services.bucket(spec) };
    const foreign = foreignBucketsOf(env, cloud, receiverOf(this, env, "apps").receive);
    return { bucket: foreign.bucket(spec), bucketCredentials: foreign.credentials(app.name) };
  }

  private bucketSpec(env: Environment, name: string) {
    const spec = env.buckets.find((bucket) => bucket.name === name);
    if (!spec) throw new Error(`app bucket ${name} is not in the spec (the spec check should have caught this)`);
    return spec;
  }
}
