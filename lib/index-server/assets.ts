/**
 * The page's only stylesheet and script, served from /static/ (no build step). The script
 * adds "Copy" to magnet links (the links work without it) and reads nothing but the clicked
 * button's data-copy attribute.
 */
export const APP_CSS = `:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de; --accent: #0550ae; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9da7b3; --line: #30363d; --accent: #79c0ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; padding: 12px 16px; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; text-decoration: none; font-size: 1.2rem; }
.search { display: flex; flex: 1; min-width: 240px; gap: 8px; }
.search input { flex: 1; min-width: 0; }
input, select, button { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); min-height: 44px; }
button { cursor: pointer; }
main { padding: 16px; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) 280px; gap: 24px; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin-bottom: 12px; }
.filters label { display: flex; flex-direction: column; font-size: 0.9rem; color: var(--muted); }
table.results { width: 100%; border-collapse: collapse; }
.results th, .results td { text-align: left; padding: 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.results td.name { overflow-wrap: anywhere; }
.num { text-align: right; white-space: nowrap; }
.actions { white-space: nowrap; }
.copy { min-height: 32px; padding: 2px 8px; margin-left: 4px; }
.pager { display: flex; gap: 16px; margin: 16px 0; }
.status dl, .facts { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; }
.status dt, .facts dt { color: var(--muted); } .status dd, .facts dd { margin: 0; overflow-wrap: anywhere; }
.chart svg { width: 100%; height: 80px; fill: var(--accent); border-bottom: 1px solid var(--line); }
.chart figcaption { font-size: 0.85rem; color: var(--muted); }
.chart { margin: 12px 0 0; }
.tree ul { list-style: none; padding-left: 1.2em; margin: 0; }
.tree > ul { padding-left: 0; }
.size { color: var(--muted); font-size: 0.9rem; }
footer { padding: 16px; color: var(--muted); border-top: 1px solid var(--line); font-size: 0.9rem; }
#copy-status { position: fixed; bottom: 12px; right: 12px; background: var(--fg); color: var(--bg); padding: 6px 12px; border-radius: 6px; }
#copy-status:empty { display: none; }
@media (max-width: 760px) {
  .columns { grid-template-columns: 1fr; }
  .results thead { position: absolute; left: -9999px; }
  .results tr { display: block; border-bottom: 1px solid var(--line); padding: 8px 0; }
  .results td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 0; text-align: left; }
  .results td[data-label]::before { content: attr(data-label); color: var(--muted); }
  .results td.name { display: block; font-weight: 600; }
}
`;

export const APP_JS = `'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var status = document.createElement('div');
  status.id = 'copy-status';
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  document.body.appendChild(status);
  document.addEventListener('click', function (event) {
    var button = event.target instanceof Element ? event.target.closest('button.copy') : null;
    if (!button) return;
    var text = button.getAttribute('data-copy') || '';
    var done = function (ok) {
      status.textContent = ok ? 'Magnet link copied' : 'Copy failed: use the magnet link';
      setTimeout(function () { status.textContent = ''; }, 2500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false);
    }
  });
});
`;
