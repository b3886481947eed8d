// Types for scripts/containers.mjs, which the container suite drives.
export type FunctionName = "antaeus" | "payment";
export interface ImageOptions {
  registry?: string;
  tag?: string;
}

export const ROOT: string;
export const FUNCTIONS: FunctionName[];
export function imageName(name: FunctionName, options?: ImageOptions): string;
export function containerEngine(): { command: string; kind: "podman" | "docker" };
export function engineOutput(args: string[]): string;
export function buildImage(name: FunctionName, options?: ImageOptions): string;
export function baseImageOf(name: FunctionName): string;
export function appLayerBytes(name: FunctionName, options?: ImageOptions): number;
