/** How the repository is delivered: one schema for the type and the validation, like the specs. */
import { z } from "zod";
import { describeValue, formatPath, SpecError } from "./errors";

const gitopsSchema = z
  .strictObject({
    /** GitHub repository `owner/name` Terraform Cloud watches. */
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "accepted: a GitHub repository as owner/name" }),
    /** Terraform Cloud's GitHub App installation (preferred) ... */
    githubAppInstallationId: z.string().regex(/^ghain-[A-Za-z0-9]+$/, { error: "accepted: a GitHub App installation id (ghain-...)" }).optional(),
    /** ... or an OAuth client's token id of a VCS connection. */
    oauthTokenId: z.string().regex(/^ot-[A-Za-z0-9]+$/, { error: "accepted: an OAuth token id (ot-...)" }).optional(),
    /** Branch every non-production workspace follows. @default main */
    mainBranch: z.string().min(1).default("main"),
    /** Branch production workspaces follow; only the promotion workflow moves it. @default production */
    productionBranch: z.string().min(1).default("production"),
    /** The environment whose Terraform Cloud project holds the `gitops` workspace. */
    deployedFrom: z.string().min(1),
    /** Terraform version of every workspace. */
    terraformVersion: z.string().regex(/^\d+\.\d+\.\d+$/, { error: "accepted: an exact Terraform version such as 1.11.4" }),
  })
  .refine((g) => (g.githubAppInstallationId === undefined) !== (g.oauthTokenId === undefined), {
    error: "accepted: exactly one of githubAppInstallationId or oauthTokenId",
    path: ["githubAppInstallationId"],
  });

export type GitopsInput = z.input<typeof gitopsSchema>;
export type Gitops = z.output<typeof gitopsSchema>;

export function parseGitops(input: unknown): Gitops {
  const parsed = gitopsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new SpecError(
    "gitops",
    parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: `given ${describeValue((input as Record<PropertyKey, unknown>)?.[issue.path[0] ?? ""])}; ${issue.message}` })),
  );
}
