import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Context, Env, Hono } from "hono";

/**
 * The API reference page at /docs: Swagger UI (the `swagger-ui-dist` package) rendering the
 * function's own /openapi.json. Its script and styles are served by the function, read from disk
 * on the first request for them (never at start), so the page works where nothing else can be
 * reached, and its Content-Security-Policy lets it load or call nothing from another origin.
 * The images ship the two files under node_modules/swagger-ui-dist/ beside the bundle
 * (scripts/build.mjs), where the sources find them too.
 */
export function serveApiDocs<E extends Env>(app: Hono<E>, title: string): void {
  app.get("/docs", (c) => answer(c, page(title), "text/html; charset=utf-8"));
  app.get("/docs/:asset", async (c) => {
    const asset = ASSETS[c.req.param("asset")];
    if (!asset) return c.notFound();
    const text = asset.text ?? (await readFile(swaggerUi(asset.file as string), "utf8"));
    return answer(c, text, asset.type);
  });
}

/**
 * Nothing from elsewhere: scripts, styles and fonts from this origin, requests (the spec, "try
 * it out") to this origin, images from it or inline SVG icons (data: URIs); no frames, no forms,
 * no <base>. Swagger UI sets styles through the DOM, which style-src does not govern.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Relative links: /docs names docs/…, and openapi.json beside it, wherever the host is. */
const page = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/start.js"></script>
</body>
</html>
`;

/** The page's own script (inline scripts are refused by its CSP). No validator badge: it calls out. */
const START = `SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#docs",
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
});
`;

const ASSETS: Record<string, { type: string; file?: string; text?: string }> = {
  "swagger-ui.css": { type: "text/css; charset=utf-8", file: "swagger-ui.css" },
  "swagger-ui-bundle.js": {
    type: "text/javascript; charset=utf-8",
    file: "swagger-ui-bundle.js",
  },
  "start.js": { type: "text/javascript; charset=utf-8", text: START },
};

const swaggerUi = (file: string) =>
  createRequire(import.meta.url).resolve(`swagger-ui-dist/${file}`);

const answer = (c: Context, body: string, type: string) =>
  c.body(body, 200, {
    "Content-Type": type,
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=3600",
  });

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
