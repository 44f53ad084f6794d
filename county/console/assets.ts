/**
 * The console's static assets: its stylesheet and its one script (charts from the pages' JSON blocks,
 * the push progress poll), kept here as strings so the build carries them; ECharts itself is copied into the
 * build at build time (pinned in county/package.json), never loaded from a CDN: a county network may be closed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 "Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",system-ui,sans-serif;color:#1f2933;background:#f3f5f8}
a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:24px;padding:0 24px;height:52px;background:#0d4a8f;color:#fff}
header.top .brand{font-size:18px;font-weight:600;letter-spacing:1px}
header.top nav{display:flex;gap:4px;flex:1}
header.top nav a{color:#dce8f7;padding:14px 14px}header.top nav a.active{color:#fff;background:#0a3a71;font-weight:600}
header.top .user{display:flex;align-items:center;gap:12px;color:#dce8f7;font-size:14px}
header.top .user a,header.top .user button.link{color:#fff}
button.link{background:none;border:0;padding:0;font:inherit;cursor:pointer;text-decoration:underline}
form.inline{display:inline}
main{max-width:1280px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:20px 0 8px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:4px 16px 16px;margin:12px 0}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border-bottom:1px solid #e4e8ee;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f7;font-weight:600;white-space:nowrap}
tfoot th,tfoot td{font-weight:600;background:#f6f8fb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.muted{color:#6b7785;font-size:12.5px}
.bad{color:#c0262d;font-weight:600}.warn{color:#b25e00;font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;white-space:nowrap}
.badge.online{background:#e3f4e8;color:#146c2e}.badge.offline{background:#fde6e6;color:#b21f24}
.badge.silent{background:#fff1d6;color:#8a4d00}.badge.unknown{background:#eceff3;color:#4b5563}
.badge.in_class{background:#e1ecfb;color:#0d4a8f;font-weight:600}.badge.shutdown{background:#eceff3;color:#374151}
.summary{font-size:16px;background:#fff;border-left:4px solid #0d4a8f;padding:8px 12px;margin:8px 0}
.columns{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.columns section{margin:0}
.visit ol{margin:0;padding-left:26px;max-height:560px;overflow:auto}.visit li{margin:0;padding:5px 0;border-bottom:1px dashed #e4e8ee;overflow-wrap:anywhere}
.reasons{font-size:13.5px;margin-top:1px}
.own{font-weight:400}.own-tag{display:inline-block;padding:0 5px;border:1px dashed #8a94a3;border-radius:3px;font-size:11.5px;color:#4b5563;background:#f6f8fb}
.reasons .offline,.reasons .fault,.reasons .never,.reasons .class_failed{color:#b21f24}.reasons .lamp,.reasons .silent,.reasons .outbox{color:#8a4d00}
ul.reasons{list-style:none;margin:2px 0 0;padding:0}ul.reasons li{padding:2px 0;border:0}
.vstate{white-space:nowrap}.vstate.active{color:#b21f24;font-weight:600}.vstate.acked{color:#146c2e}.vstate.cleared{color:#4b5563}
.visit-note{color:#4b5563}.visit-do{display:inline-flex;flex-wrap:wrap;gap:4px 8px;align-items:center;vertical-align:middle}
.visit-do form{display:inline-flex;gap:4px;align-items:center}.visit-do input{width:11em;max-width:100%;padding:2px 6px}.visit-do button{padding:2px 10px}
ul.why{margin:2px 0 0;padding-left:18px;font-size:13.5px;font-weight:400;color:#8c1a1f}
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
input,select,button{font:inherit;padding:4px 8px;border:1px solid #b8c2cc;border-radius:4px;background:#fff}
button,a.button{cursor:pointer;background:#eef2f7;border:1px solid #b8c2cc;border-radius:4px;padding:4px 14px;color:#1f2933}
button.primary{background:#0d4a8f;color:#fff;border-color:#0d4a8f;padding:6px 22px}
fieldset{border:1px solid #dde3ea;border-radius:6px;margin:10px 0;padding:8px 12px;min-width:0}
fieldset.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
fieldset label{display:inline-flex;gap:6px;align-items:center;margin-right:14px}
fieldset.grid label{flex-wrap:wrap}fieldset.grid label:not(.choice){white-space:nowrap}fieldset.grid input[name=id],fieldset.grid input[name=name]{width:14em;max-width:100%}
.days{grid-column:1/-1;display:flex;flex-wrap:wrap;gap:10px;align-items:center}
[hidden],.hidden{display:none !important}
select{max-width:100%}
.pick{display:grid;gap:10px;margin:8px 0}
.pick-one{display:flex;flex-wrap:wrap;gap:8px;align-items:center;background:#f6f8fb;border:1px solid #dde3ea;border-radius:6px;padding:8px 10px}
.pick-one label{display:inline-flex;flex-wrap:wrap;gap:6px;align-items:center}
.pick-one input[type=search]{width:18em;max-width:100%}
ol.steps{margin:0;padding:0;list-style:none}
ol.steps li.step{display:flex;flex-wrap:wrap;gap:6px 12px;align-items:center;padding:6px 0;border-bottom:1px dashed #e4e8ee}
.step-n{font-weight:600;min-width:4em}
ul.words{margin:4px 0 8px;padding-left:22px}ul.words li{margin:2px 0}
details{margin:8px 0}
td.url{word-break:break-all}td.message{white-space:pre-wrap;overflow-wrap:anywhere;min-width:14em}
.problems{background:#fde6e6;border:1px solid #f3b6b8;color:#8c1a1f;padding:8px 12px;border-radius:6px}
.note{background:#fff7e0;border:1px solid #f0d58a;padding:8px 12px;border-radius:6px}
dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px 16px;background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:12px 16px;margin:0}
dl.facts dt{color:#6b7785;font-size:13px}dl.facts dd{margin:0;font-size:15px}
.chart-row{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px}
.chart-pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(480px,100%),1fr));gap:12px}
figure.chart{margin:8px 0}.chart-box{width:100%;height:300px}
form.login{display:grid;gap:12px;max-width:360px;background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:20px}
form.login label{display:grid;gap:4px}
form.account-form{display:grid;gap:10px;max-width:560px}form.account-form label{display:grid;gap:4px}form.account-form button{justify-self:start}
button.danger,a.button.danger{background:#fff;color:#b21f24;border-color:#e3a1a4}button.primary.danger{background:#b21f24;color:#fff;border-color:#b21f24}
#audit td{white-space:nowrap}#audit td:last-child{white-space:normal;min-width:18em;overflow-wrap:anywhere}
p.pager{display:flex;gap:16px;align-items:center}
tr.inactive td{background:#fffaf0}tr.picked td{background:#e8f0fb;font-weight:600}
footer{text-align:center;color:#6b7785;font-size:12.5px;padding:16px}
@media (max-width:900px){.columns,.chart-row{grid-template-columns:minmax(0,1fr)}header.top{flex-wrap:wrap;height:auto}}
@media (max-width:640px){header.top{padding:4px 12px;gap:4px 16px}header.top nav{flex-wrap:wrap;flex-basis:100%;order:3}header.top nav a{padding:8px 10px;white-space:nowrap}header.top .user{flex-wrap:wrap;gap:4px 12px}
main{padding:12px 10px 32px}section{padding:4px 10px 12px}
table{display:block;max-width:100%;overflow-x:auto}
fieldset{padding:8px}fieldset label{margin-right:8px;flex-wrap:wrap}fieldset.grid{grid-template-columns:1fr}
form.filters{gap:8px}p.pager{flex-wrap:wrap}}
`;

/** The console's icon: a blue tile with 远 (远程教育), readable at 16 px. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0d4a8f"/><text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff" font-family="Noto Sans CJK SC,Microsoft YaHei,sans-serif">远</text></svg>`;

export const CONSOLE_JS = `'use strict';
(function () {
  function spec(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }
  function option(s) {
    var many = !s.horizontal && s.type === 'bar' && s.labels.length > 8;
    var cat = { type: 'category', data: s.labels, axisLabel: many ? { interval: 0, rotate: 35 } : { hideOverlap: true } };
    var val = { type: 'value', scale: s.type === 'line' };
    return {
      color: ['#2f6fbd', '#f0a030', '#4c9a5f', '#c0392b', '#7f5fb0'],
      title: { text: s.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      tooltip: { trigger: 'axis' },
      legend: s.series.length > 1 ? { top: 0, right: 0 } : undefined,
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      xAxis: s.horizontal ? val : cat,
      yAxis: s.horizontal ? Object.assign({}, cat, { inverse: true }) : val,
      series: s.series.map(function (x) {
        return { name: x.name, type: s.type, data: x.data, stack: x.stack, showSymbol: false, connectNulls: false, barMaxWidth: 28 };
      })
    };
  }
  var charts = [];
  if (window.echarts) {
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var s = spec(el.getAttribute('data-chart'));
      if (!s) return;
      el.style.height = (Number(el.getAttribute('data-height')) || 300) + 'px';
      var c = window.echarts.init(el, null, { renderer: 'canvas' });
      c.setOption(option(s));
      charts.push(c);
    });
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  }
  // The printed 通报's button (pages/print.ts): the browser's own print dialog.
  document.querySelectorAll('[data-print]').forEach(function (b) { b.addEventListener('click', function () { window.print(); }); });
  var table = document.getElementById('push-rows');
  if (table) {
    var labels = document.getElementById('push-labels');
    var id = table.getAttribute('data-push');
    var started = Date.now();
    var badge = { sent: 'unknown', ok: 'online', error: 'offline', no_answer: 'silent' };
    // An answer in the console's words (the station's text on hover), or the station's own words, marked.
    var answer = function (cell, a) {
      cell.textContent = '';
      if (!a.own) {
        var plain = document.createElement('span');
        plain.textContent = a.text;
        if (a.title) plain.title = a.title;
        cell.append(plain);
        return;
      }
      var own = document.createElement('span'), tag = document.createElement('span'), q = document.createElement('q');
      own.className = 'own'; own.title = labels.getAttribute('data-own-title');
      tag.className = 'own-tag'; tag.textContent = labels.getAttribute('data-own-tag');
      q.textContent = a.text;
      own.append(tag, ' ', q);
      cell.append(own);
    };
    var poll = function () {
      fetch('/push.json?id=' + encodeURIComponent(id), { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          if (!d) return;
          d.rows.forEach(function (row) {
            var tr = table.querySelector('tr[data-station="' + CSS.escape(row.station) + '"]');
            if (!tr || tr.getAttribute('data-status') === row.status) return;
            tr.setAttribute('data-status', row.status);
            var span = tr.cells[2].querySelector('span');
            span.className = 'badge ' + badge[row.status];
            span.textContent = labels.getAttribute('data-' + row.status);
            answer(tr.cells[3], row.answer);
            tr.cells[4].textContent = row.responded_at;
          });
          var summary = document.getElementById('push-summary');
          summary.textContent = labels.getAttribute('data-summary')
            .replace('{ok}', d.ok).replace('{error}', d.error).replace('{pending}', d.pending).replace('{silent}', d.silent);
          ['ok', 'error', 'pending', 'silent'].forEach(function (k) { summary.setAttribute('data-' + k, d[k]); });
          // Until the wait is over (then the server says "no answer" and there is nothing to wait for).
          var again = d.pending > 0 && Date.now() - started < 30 * 60 * 1000;
          // With every row on the page the lists of the waiting and the silent follow them; otherwise the counts do.
          if (table.getAttribute('data-complete') !== 'yes') { if (again) setTimeout(poll, 1500); return; }
          var list = function (id, status, label, cls) {
            var names = [];
            table.querySelectorAll('tr[data-status="' + status + '"]').forEach(function (tr) { names.push(tr.getAttribute('data-name')); });
            var p = document.getElementById(id);
            p.textContent = names.length ? labels.getAttribute(label) + ' ' + names.join(labels.getAttribute('data-sep')) : '';
            p.className = names.length ? cls : '';
            return names.length;
          };
          var open = list('push-pending', 'sent', 'data-unanswered', 'warn') + list('push-silent', 'no_answer', 'data-silent', 'bad');
          document.getElementById('push-all').className = open ? 'hidden' : '';
          if (again) setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 500);
  }
  // The schedule form: a step's value field only when its choice takes one (a level, an input code),
  // "wait until" only for power; without this script every field simply stays visible.
  document.querySelectorAll('#compose li.step').forEach(function (li) {
    var choice = li.querySelector('select');
    var box = li.querySelector('.step-value'), input = box.querySelector('input');
    var wait = li.querySelector('.step-wait'), waitSelect = wait.querySelector('select');
    var update = function () {
      var opt = choice.selectedOptions[0];
      var needs = opt ? opt.getAttribute('data-needs') : null;
      box.hidden = !needs;
      input.required = !!needs;
      if (needs === 'level') { input.type = 'number'; input.min = '0'; input.max = '100'; input.step = '1'; input.removeAttribute('pattern'); }
      else { input.type = 'text'; input.removeAttribute('min'); input.removeAttribute('max'); input.removeAttribute('step'); }
      if (needs === 'code') input.pattern = '[A-Za-z0-9._:\\\\-]{1,32}'; else input.removeAttribute('pattern');
      var power = !!opt && opt.value.split('|')[1] === 'power';
      wait.hidden = !power;
      if (!power) waitSelect.value = '';
    };
    choice.addEventListener('change', update);
    update();
  });
})();
`;

let echarts: Buffer | undefined;

/** ECharts' minified build (read once; ~1 MB, cached by the browser). */
export function echartsBundle(): Buffer {
  // The build copies echarts into static/ beside this module (it is no runtime dependency of the county
  // package); run from the sources (the tests), the development install's copy serves.
  const built = fileURLToPath(new URL('./static/echarts.min.js', import.meta.url));
  return (echarts ??= readFileSync(existsSync(built) ? built : createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js')));
}
