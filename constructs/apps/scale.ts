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
