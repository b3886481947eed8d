import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import { LIVE_SCRIPT } from "./live.js";

/**
 * Plain HTML and one inline style sheet: nothing to build, nothing fetched. Colours keep a
 * contrast of at least 7:1 on white (WCAG AAA for text), focus is always visible, and the layout
 * is one column that fits a phone.
 */
const STYLE = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #4a4a4a; --line: #c8c8c8; --accent: #0b4f8a; --ok: #1d5c2e; --warn: #8a3b00; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header, main { max-width: 56rem; margin: 0 auto; padding: 1rem; }
header { border-bottom: 1px solid var(--line); display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
header strong { font-size: 1.1rem; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
.skip { position: absolute; left: -100vw; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; }
progress { width: 100%; height: 1.5rem; accent-color: var(--accent); }
.figures { font-size: 1.1rem; }
.muted { color: var(--muted); }
.status-RUNNING { color: var(--warn); font-weight: 600; }
.status-COMPLETED { color: var(--ok); font-weight: 600; }
.alert { border: 2px solid var(--warn); color: var(--warn); padding: .75rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.meaning { display: block; font-weight: normal; color: var(--muted); font-size: .9rem; }
@media (max-width: 30rem) { body { font-size: 15px; } th, td { padding: .3rem; } }
`;

export function Page(props: {
  title: string;
  /** Seconds between refreshes when JavaScript is off; none when the page is final. */
  refreshSeconds?: number;
  /** Who the session cookie or bearer token speaks for; none when auth is off. */
  signedInAs?: string | undefined;
  children: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title}</title>
        {props.refreshSeconds ? (
          <noscript>
            <meta http-equiv="refresh" content={String(props.refreshSeconds)} />
          </noscript>
        ) : null}
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <strong>Antaeus billing</strong>
          <nav aria-label="Billing">
            <a href="/runs">All runs</a>
          </nav>
          {props.signedInAs ? (
            <form method="post" action="/runs/sign-out">
              <span class="muted">{props.signedInAs}</span> <button type="submit">Sign out</button>
            </form>
          ) : null}
        </header>
        <main id="main">{props.children}</main>
        <script>{raw(LIVE_SCRIPT)}</script>
      </body>
    </html>
  );
}
