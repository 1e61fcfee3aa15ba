import type { Size } from "../core/sizes";
import type { Resources } from "./types";

/** How much a component's base resources (given for `small`) grow with the app's size. */
export const SIZE_FACTORS: Readonly<Record<Size, number>> = { small: 1, medium: 2, large: 4, xlarge: 8 };

/** Multiplies a Kubernetes quantity ("250m", "1.5", "512Mi") by a factor, keeping its unit. */
export function scaleQuantity(quantity: string, factor: number): string {
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(quantity);
  if (!match) throw new RangeError(`not a Kubernetes quantity: ${quantity}`);
  const scaled = Number(match[1]) * factor;
  return `${Number.isInteger(scaled) ? scaled : scaled.toFixed(2).replace(/0+$/, "")}${match[2]}`;
}

/** Mebibytes in a Kubernetes memory quantity (`Mi`, `Gi`, `M`, `G`). */
export function mebibytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(quantity);
  if (!match) throw new RangeError(`not a memory quantity in Mi, Gi, M or G: ${quantity}`);
  const factor: Record<string, number> = { Mi: 1, Gi: 1024, M: 1e6 / 2 ** 20, G: 1e9 / 2 ** 20 };
  return Number(match[1]) * factor[match[2]];
}

/** Millicores in a Kubernetes CPU quantity ("500m", "1", "1.5"). */
export function millicores(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity);
  if (!match) throw new RangeError(`not a CPU quantity: ${quantity}`);
  return match[2] === "m" ? Number(match[1]) : Number(match[1]) * 1000;
}

/** Requests and limits scaled from the base (size `small`) to the app's size. */
export function scaledResources(base: Resources, size: Size): Resources {
  const factor = SIZE_FACTORS[size];
  return {
    requests: { cpu: scaleQuantity(base.requests.cpu, factor), memory: scaleQuantity(base.requests.memory, factor) },
    limits: {
      ...(base.limits.cpu === undefined ? {} : { cpu: scaleQuantity(base.limits.cpu, factor) }),
      memory: scaleQuantity(base.limits.memory, factor),
    },
  };
}
