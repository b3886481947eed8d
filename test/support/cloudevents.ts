/**
 * What a Knative PingSource delivers to its sink: a POST carrying a binary-mode CloudEvent
 * (`ce-*` headers) with its data as the body. `headers` overrides or blanks any attribute.
 */
export function pingDelivery(options: {
  source: string;
  id: string;
  time?: string;
  data?: string;
  headers?: Record<string, string>;
}): RequestInit & { headers: Record<string, string> } {
  const [, namespace, name] = /^([^/]+)\/(.+)$/.exec(options.source) ?? [];
  return {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": "dev.knative.sources.ping",
      "ce-source": `/apis/v1/namespaces/${namespace}/pingsources/${name}`,
      "ce-id": options.id,
      ...(options.time ? { "ce-time": options.time } : {}),
      ...options.headers,
    },
    body: options.data ?? "",
  };
}
