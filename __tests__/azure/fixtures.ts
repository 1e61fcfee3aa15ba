import type { EnvironmentInput } from "../../constructs/core/spec";
import { baseSpec } from "../support/fixtures";
import type { SynthesizedStack, TfBlock } from "../support/synth";

export const SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001";
export const TENANT_ID = "00000000-0000-4000-8000-000000000002";
/** The Entra ID group of cluster admins every Azure spec needs. */
export const ADMIN_GROUP = "11111111-2222-4333-8444-555555555555";

/** The shared base spec (one bucket, one database, airflow), built on Azure with one admin group. */
export function azureSpec(): EnvironmentInput {
  const base = baseSpec();
  return {
    ...base,
    cloud: "azure",
    accounts: { azure: { location: "westeurope", subscriptionId: SUBSCRIPTION_ID, tenantId: TENANT_ID } },
    cluster: { ...base.cluster, azure: { adminGroupObjectIds: [ADMIN_GROUP] } },
  };
}

/** The same spec as a production environment that meets every production rule, its admin group named (PostgreSQL's Entra administrator). */
export function azureProductionSpec(): EnvironmentInput {
  const spec = azureSpec();
  return { ...spec, name: "live", production: true, cluster: { ...spec.cluster, azure: { adminGroupObjectIds: [ADMIN_GROUP], adminGroupName: "data-platform-admins" } } };
}

/** The Azure spec with its cluster section changed. */
export function withCluster(spec: EnvironmentInput, cluster: Partial<EnvironmentInput["cluster"]>): EnvironmentInput {
  return { ...spec, cluster: { ...spec.cluster, ...cluster } };
}

/** Matches a Terraform reference to an attribute of a resource type, e.g. `${azurerm_subnet.x.id}`. */
export function ref(type: string, attribute: string, idFragment = ""): RegExp {
  return new RegExp(`^\\$\\{${type}\\.[^.}]*${idFragment}[^.}]*\\.${attribute}\\}$`);
}

/** The azurerm provider's `features` block of a synthesized stack. */
export function providerFeatures(stack: SynthesizedStack): TfBlock {
  const provider = stack.json.provider?.azurerm?.[0];
  if (provider === undefined) throw new Error("the stack configures no azurerm provider");
  return (provider.features as TfBlock[])[0];
}
