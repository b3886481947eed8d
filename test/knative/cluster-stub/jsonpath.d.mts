export function jsonpath(template: string, value: unknown): string;
