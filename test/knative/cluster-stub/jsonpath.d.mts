export function select(value: unknown, path: string): unknown[];
export function jsonpath(template: string, value: unknown): string;
