/**
 * Neutral sizes used in specs instead of cloud instance names. Each cloud maps them in one
 * table (`constructs/<cloud>/sizes.ts`); the README shows the tables side by side.
 */
export const SIZES = ["small", "medium", "large", "xlarge"] as const;
export type Size = (typeof SIZES)[number];

/** What a neutral size means, in vCPUs and GiB of memory, for nodes and for databases. */
export const SIZE_SHAPES: Readonly<Record<Size, { readonly vcpus: number; readonly memoryGiB: number }>> = {
  small: { vcpus: 2, memoryGiB: 8 },
  medium: { vcpus: 4, memoryGiB: 16 },
  large: { vcpus: 8, memoryGiB: 32 },
  xlarge: { vcpus: 16, memoryGiB: 64 },
};
