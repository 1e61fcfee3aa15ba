import type { IConstruct } from "constructs";
import { type IAspect, TerraformResource } from "cdktn";

type Tags = Record<string, string>;

/** What every generated azurerm resource class with a `tags` argument has. */
interface TaggableResource {
  tags: Tags;
  readonly tagsInput?: Tags;
}

/** True when the resource's schema has a top-level `tags` argument. */
export function isTaggable(node: IConstruct): node is TerraformResource & TaggableResource {
  return node instanceof TerraformResource && "tags" in node && "tagsInput" in node;
}

/**
 * Puts the environment's tags on every taggable resource below the scope it is added to.
 * azurerm has no provider-level default tags (unlike aws `default_tags`), so one Aspect applies
 * them once instead of each construct repeating them. A resource's own tags win on a key clash
 * (the spec forbids overriding the reserved keys, so only extra tags can clash). Key Vault
 * secrets (`azapi_resource`, no generated `tagsInput`) are not visited: they take at most 15
 * tags and carry the platform's own, set where they are written (`AzureKeyVault.addSecret`).
 */
export class AzureEnvironmentTags implements IAspect {
  constructor(private readonly tags: Readonly<Tags>) {}

  visit(node: IConstruct): void {
    if (!isTaggable(node)) return;
    node.tags = { ...this.tags, ...(node.tagsInput ?? {}) };
  }
}
