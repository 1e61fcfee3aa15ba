import type { Size } from "../core/sizes";

/**
 * Neutral sizes on Azure. Nodes are general-purpose Dv5 VMs with a local temporary disk (`ds`),
 * the same vCPU/memory shape as the neutral size (4 GiB per vCPU).
 */
export const AZURE_NODE_VM_SIZES: Readonly<Record<Size, string>> = {
  small: "Standard_D2ds_v5",
  medium: "Standard_D4ds_v5",
  large: "Standard_D8ds_v5",
  xlarge: "Standard_D16ds_v5",
};

/**
 * PostgreSQL Flexible Server SKUs: General Purpose Ddsv5. Burstable (`B_`) SKUs run out of CPU
 * credits under the steady load of Airflow's scheduler, and cannot run high availability.
 */
export const AZURE_POSTGRES_SKUS: Readonly<Record<Size, string>> = {
  small: "GP_Standard_D2ds_v5",
  medium: "GP_Standard_D4ds_v5",
  large: "GP_Standard_D8ds_v5",
  xlarge: "GP_Standard_D16ds_v5",
};

/**
 * The storage sizes a Flexible Server accepts, in MiB (`storage_mb`), smallest first. 4193280
 * (4 TiB minus 1 GiB) is the largest size that still supports host caching.
 */
export const POSTGRES_STORAGE_MB = [32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408] as const;

/** The smallest allowed `storage_mb` holding `storageGiB`, or undefined above the largest (32 TiB). */
export function postgresStorageMb(storageGiB: number): number | undefined {
  return POSTGRES_STORAGE_MB.find((mb) => mb >= storageGiB * 1024);
}
