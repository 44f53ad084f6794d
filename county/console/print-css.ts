/**
 * The printed 通报's stylesheet (pages/print.ts): A4 portrait, one `.sheet` to a printed page, rows of a
 * fixed height on one line each (a long name is cut with …, never wrapped onto a second line), so that
 * PRINT_ROWS rows, the title and the table header fit every page; on a screen the sheets look like paper
 * and their tables scroll inside themselves on a phone.
 */
export const PRINT_CSS = `
*{box-sizing:border-box}
@page{size:A4 portrait;margin:12mm 12mm 12mm 12mm}
body.print{margin:0;font:10pt/1.4 "Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei",system-ui,sans-serif;color:#111;background:#e9edf2}
.toolbar{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:10px 16px;background:#0d4a8f;color:#fff}
.toolbar a{color:#fff}.toolbar p{flex-basis:100%;margin:0;font-size:9.5pt;color:#dce8f7}
.toolbar button{font:inherit;padding:3px 16px;border:1px solid #fff;border-radius:4px;background:#fff;color:#0d4a8f;cursor:pointer}
.toolbar .warn{color:#ffe08a;font-weight:600}.toolbar .towns a{margin-right:10px;white-space:nowrap}
.sheet{background:#fff;width:186mm;max-width:calc(100% - 16px);margin:12px auto;padding:6mm;box-shadow:0 1px 4px rgba(0,0,0,.2)}
.sheet header h1{font-size:14pt;margin:0 0 2mm;text-align:center;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.sheet .section{display:flex;justify-content:space-between;margin:0 0 2mm;font-size:10pt;font-weight:600}
.sheet .page-no{font-weight:400}
.scroll{overflow-x:auto}
.sheet table{border-collapse:collapse;width:100%;min-width:160mm;table-layout:fixed;font-size:9pt}
.sheet thead{display:table-header-group}
.sheet th,.sheet td{height:6.2mm;padding:0 1.2mm;border:0.2mm solid #8a94a3;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;text-align:left;vertical-align:middle}
.sheet thead th{background:#eef2f7;font-size:7.5pt}
.sheet .num{text-align:right;font-variant-numeric:tabular-nums}
.sheet th.rank{width:10mm}.sheet .name{width:30mm}
.sheet tr.town th{background:#f6f8fb}.sheet tr.subtotal,.sheet tr.total{font-weight:600;background:#f6f8fb}
.sheet .rule{font-size:7.5pt;color:#444;margin:2mm 0 0}
@media print{
  body.print{background:#fff}
  .toolbar{display:none}
  .sheet{width:auto;max-width:none;margin:0;padding:0;box-shadow:none;break-after:page;page-break-after:always}
  .sheet:last-of-type{break-after:auto;page-break-after:auto}
  .scroll{overflow:visible}
  .sheet table{min-width:0}
}
`;
