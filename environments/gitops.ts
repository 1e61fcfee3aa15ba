import type { GitopsInput } from "../constructs/core/gitops";

/**
 * Delivery through Terraform Cloud. Replace the repository and the VCS connection with yours
 * (Terraform Cloud → Settings → VCS providers / GitHub App).
 */
export const gitops = {
  repository: "acme/data-platform",
  githubAppInstallationId: "ghain-example0000",
  mainBranch: "main",
  productionBranch: "production",
  deployedFrom: "ops",
  terraformVersion: "1.11.4",
} satisfies GitopsInput;
