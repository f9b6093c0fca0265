/** The page's CSS: inline, so the file is all an analyst has to hand on. */
export const REPORT_STYLE = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1080px;padding:16px;color:#212529;background:#fff}
h1{font-size:1.4em;margin:.2em 0}h2{border-bottom:1px solid #dee2e6;padding-bottom:4px;margin-top:2em;overflow-wrap:anywhere}
h3{font-size:1em;color:#495057;margin:1.4em 0 .4em}
a{color:#1864ab}
time{white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%;margin:.4em 0}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{padding:4px 8px;border-bottom:1px solid #e9ecef;text-align:left;white-space:nowrap;font-weight:normal}
tbody th{white-space:normal;min-width:14em}
thead th{font-weight:600;border-bottom:2px solid #dee2e6;vertical-align:bottom}
tfoot th,tfoot td{font-weight:600;border-top:2px solid #dee2e6}
.num{text-align:right;font-variant-numeric:tabular-nums}
table.record{width:auto}
tr.partial{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#f1f3f5 4px,#f1f3f5 8px)}
.mark{font-size:12px;color:#495057;margin-left:6px}
.summary{margin:.3em 0}.note,.empty{color:#868e96}.note{font-size:13px;margin:.3em 0}
.up{font-size:13px;font-weight:normal;margin-left:8px;white-space:nowrap}
nav ol{margin:.3em 0;padding-left:1.4em}
nav ol.index{columns:11em;column-gap:2em;font-size:14px;list-style:none;padding-left:0}
nav ol.index li{break-inside:avoid;overflow-wrap:anywhere}
details summary{cursor:pointer;color:#1864ab}
figure{margin:0}
.chart svg{display:block;width:100%;height:auto}
.chart text{font-size:11px;fill:#495057}
.chart .value{fill:#212529}
.chart .partial-label{fill:#212529;font-weight:600}
.chart .grid{stroke:#e9ecef}
.chart .baseline{stroke:#868e96}
.chart .partial{stroke:#212529;stroke-dasharray:3 2}
figcaption{font-size:13px;margin-top:4px}
.key{margin-right:10px;white-space:nowrap}
.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:-1px}
.key i.hatched{background:repeating-linear-gradient(45deg,#495057,#495057 2px,#fff 2px,#fff 4px);border:1px dashed #212529}
th.plot,td.plot{min-width:180px;width:40%}
.plot-title{display:block;font-weight:normal;font-size:12px;color:#495057;white-space:normal}
.ticks{position:relative;display:block;height:1.3em;font-size:12px;font-weight:normal;color:#495057}
.ticks span{position:absolute;transform:translateX(-50%)}.ticks .first{transform:none}.ticks .last{transform:translateX(-100%)}
.track{position:relative;display:block;height:14px}
.track .grid{position:absolute;top:0;bottom:0;border-left:1px solid #e9ecef}
.track .overall{position:absolute;top:-4px;bottom:-4px;border-left:2px dashed #868e96}
.track .dot{position:absolute;top:2px;width:10px;height:10px;margin-left:-5px;border-radius:50%;background:#1c7ed6}
.key .overall-key{display:inline-block;width:0;height:12px;border-left:2px dashed #868e96;margin:0 6px -2px 4px}
@media (max-width:600px){
  body{padding:10px}
  tbody th{min-width:7em}
  th.plot,td.plot{min-width:130px}
  .chart text{font-size:20px}
  .chart .value,.chart .alt{display:none}
}
@media print{
  .scroll{overflow:visible}
  section.workspace{break-before:page}
  details.days::details-content{content-visibility:visible;display:block}
  details.days > summary{display:none}
}
`;
