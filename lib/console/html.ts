/**
 * HTML for the console, written as tagged templates: every interpolated value is escaped unless
 * it is already {@link Html} (made by `html` itself or {@link raw}), so no value from the database
 * (a job's input, an error message, a type name) can become markup.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false || part === true) return '';
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof Html) return part.value;
  return escapeHtml(String(part));
}

/** `html\`<td>${value}</td>\``: values escaped, Html and arrays of them kept. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup that is already safe (constants of this module only). */
export const raw = (value: string) => new Html(value);

/** A URL's query string from the non-empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function ago(date: Date | null | undefined, now = Date.now()): string {
  if (!date) return '—';
  const s = Math.round((now - date.getTime()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86_400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86_400)} d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

export const time = (date: Date | null | undefined) =>
  date ? html`<time datetime="${date.toISOString()}" title="${date.toISOString()}">${date.toISOString().replace('T', ' ').slice(0, 19)}</time>` : html`—`;

/** JSON, pretty and escaped. */
export const json = (value: unknown) =>
  value === null || value === undefined ? html`<span class="muted">none</span>` : html`<pre>${JSON.stringify(value, null, 2)}</pre>`;

export const STYLE = raw(`
:root { color-scheme: light; }
* { box-sizing: border-box; }
body.ej { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #16181d; background: #f6f7f9; }
.ej a { color: #0b57d0; text-decoration: none; }
.ej a:hover { text-decoration: underline; }
.ej header { display: flex; flex-wrap: wrap; gap: 4px 16px; align-items: center; padding: 10px 16px; background: #16181d; color: #fff; }
.ej header a { color: #cfd6e4; }
.ej header a.on { color: #fff; font-weight: 600; }
.ej header .brand { color: #fff; font-weight: 700; margin-right: 8px; }
.ej header .who { margin-left: auto; color: #9aa4b5; font-size: 12px; }
.ej main { padding: 16px; max-width: 1280px; margin: 0 auto; }
.ej h1 { font-size: 20px; margin: 4px 0 12px; }
.ej h2 { font-size: 16px; margin: 20px 0 8px; }
.ej .card { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 12px; margin-bottom: 12px; }
.ej .scroll { overflow-x: auto; }
.ej table { border-collapse: collapse; width: 100%; font-size: 13px; }
.ej th, .ej td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; white-space: nowrap; }
.ej td.wrap { white-space: normal; word-break: break-word; min-width: 14em; }
.ej th { color: #5b6475; font-weight: 600; background: #fafbfc; }
.ej .num { text-align: right; font-variant-numeric: tabular-nums; }
.ej .muted { color: #6b7385; }
.ej code, .ej pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.ej pre { margin: 0; padding: 8px; background: #f4f5f7; border-radius: 6px; overflow-x: auto; max-height: 360px; white-space: pre-wrap; word-break: break-word; }
.ej .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #eef0f3; color: #3b4252; }
.ej .s-queued { background: #e8f0fe; color: #174ea6; } .ej .s-processing { background: #fef7e0; color: #8a5a00; }
.ej .s-completed { background: #e6f4ea; color: #137333; } .ej .s-failed { background: #fce8e6; color: #a50e0e; }
.ej .s-cancelled { background: #f1f3f4; color: #5f6368; }
.ej .banner { padding: 10px 12px; border-radius: 8px; margin-bottom: 12px; }
.ej .ok { background: #e6f4ea; color: #0d652d; } .ej .bad { background: #fce8e6; color: #a50e0e; } .ej .note { background: #e8f0fe; color: #174ea6; }
.ej form.inline { display: inline; }
.ej form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
.ej label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: #5b6475; }
.ej input, .ej select { font: inherit; padding: 5px 8px; border: 1px solid #cdd2da; border-radius: 6px; background: #fff; min-width: 0; max-width: 100%; }
.ej button, .ej .button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid #cdd2da; background: #fff; cursor: pointer; color: #16181d; display: inline-block; }
.ej button.primary { background: #0b57d0; border-color: #0b57d0; color: #fff; }
.ej button.danger { background: #c5221f; border-color: #c5221f; color: #fff; }
.ej .actions { display: flex; flex-wrap: wrap; gap: 6px; }
.ej .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 8px; }
.ej .stat { background: #fff; border: 1px solid #e1e4ea; border-radius: 8px; padding: 8px 12px; }
.ej .stat b { display: block; font-size: 20px; }
.ej dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
.ej dt { color: #5b6475; } .ej dd { margin: 0; word-break: break-word; }
.ej ol.timeline { margin: 0; padding-left: 20px; } .ej ol.timeline li { margin: 2px 0; }
.ej svg.chart { width: 100%; height: 120px; display: block; }
.ej .legend span { margin-right: 12px; font-size: 12px; }
.ej .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: middle; }
@media (max-width: 640px) {
  .ej main { padding: 10px; }
  .ej dl { grid-template-columns: 1fr; }
  .ej dt { margin-top: 6px; }
}
`);
