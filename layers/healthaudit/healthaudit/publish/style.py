"""The report page's stylesheet (inline: the page loads nothing)."""

STYLE = """
:root { --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; --accent:#2563eb;
  --critical:#7f1d1d; --high:#b91c1c; --medium:#b45309; --low:#1d4ed8; --info:#475569;
  --baseline:#64748b; --current:#ea580c; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 0; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f5f9;
  padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
a { color: var(--accent); }
.page-header { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 0; }
.facts dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(90px, 1fr)); gap: 10px; list-style: none;
  padding: 0; margin: 14px 0 0; }
.tile { background: var(--card); border: 1px solid var(--line); border-top: 5px solid; border-radius: 8px;
  padding: 10px 14px; display: flex; flex-direction: column; }
.tile .n { font-size: 28px; font-weight: 700; line-height: 1.1; }
.tile.zero .n { color: #94a3b8; }
.tile .label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .05em; }
.tile.sev-critical { border-top-color: var(--critical); } .tile.sev-high { border-top-color: var(--high); }
.tile.sev-medium { border-top-color: var(--medium); } .tile.sev-low { border-top-color: var(--low); }
.tile.sev-info { border-top-color: var(--info); }
.lead { color: #334155; }
nav ul { list-style: none; padding: 0; margin: 16px 0 0; display: flex; flex-wrap: wrap; gap: 6px; }
nav a { display: inline-block; padding: 3px 5px 3px 9px; border: 1px solid var(--line); border-radius: 999px;
  background: var(--card); text-decoration: none; font-size: 13px; }
.count { display: inline-block; min-width: 22px; padding: 0 7px; border-radius: 999px; background: #e2e8f0;
  color: #334155; font-size: 13px; text-align: center; font-weight: 600; vertical-align: 2px; }
details.notes { background: #fffbeb; border-color: #fde68a; margin-top: 14px; font-size: 14px; }
.finding { background: var(--card); border: 1px solid var(--line); border-left: 6px solid var(--info);
  border-radius: 8px; padding: 14px 18px; margin: 0 0 14px; }
.finding.sev-critical { border-left-color: var(--critical); } .finding.sev-high { border-left-color: var(--high); }
.finding.sev-medium { border-left-color: var(--medium); } .finding.sev-low { border-left-color: var(--low); }
.finding header { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.finding p { margin: 6px 0; }
.check { color: #475569; font-weight: 400; margin-left: 4px; }
.badge { color: #fff; font-size: 12px; font-weight: 700; letter-spacing: .06em; padding: 2px 8px; border-radius: 4px; }
.badge.sev-critical { background: var(--critical); } .badge.sev-high { background: var(--high); }
.badge.sev-medium { background: var(--medium); } .badge.sev-low { background: var(--low); }
.badge.sev-info { background: var(--info); }
.finding.resolved { border-left-color: #15803d; background: #fbfefc; }
.pill-resolved { color: #166534; background: #dcfce7; font-size: 12px; font-weight: 700; letter-spacing: .06em;
  padding: 2px 8px; border-radius: 4px; margin-left: -4px; }
.where { color: var(--muted); font-size: 14px; }
.where a { font-weight: 600; overflow-wrap: anywhere; }
.message { font-size: 15.5px; overflow-wrap: anywhere; }
.suppressed { color: #92400e; }
.remedy { color: #334155; }
.body { display: grid; grid-template-columns: minmax(220px, 340px) 1fr; gap: 14px 24px; align-items: start;
  margin: 10px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px 16px; }
.charts:empty { display: none; }
@media (max-width: 760px) { .body { grid-template-columns: 1fr; } }
table { border-collapse: collapse; background: var(--card); font-size: 14px; }
th, td { text-align: left; padding: 5px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: #f1f5f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total th, tr.total td { font-weight: 700; border-top: 2px solid var(--line); }
table.evidence { width: 100%; border: 1px solid var(--line); }
table.evidence caption { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); padding-bottom: 4px; }
table.evidence th { font-weight: 500; color: #334155; overflow-wrap: break-word; }
table.evidence td { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
section > table, .scroll > table { width: 100%; border: 1px solid var(--line); }
.side-by-side { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.status { font-weight: 600; padding: 1px 8px; border-radius: 4px; font-size: 13px; }
.status-unhealthy { background: #fee2e2; color: #991b1b; } .status-unknown { background: #fef3c7; color: #92400e; }
.status-healthy { background: #dcfce7; color: #166534; }
details { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
details[open] summary { margin-bottom: 12px; }
summary { cursor: pointer; font-weight: 600; }
.empty, .muted { color: var(--muted); }
figure.chart { margin: 0; min-width: 0; }
figure.chart.wide { grid-column: 1 / -1; }
p.no-data { grid-column: 1 / -1; margin: 0; font-size: 13px; color: var(--muted); }
figure.chart svg { width: 100%; height: auto; display: block; background: #fff; border: 1px solid var(--line);
  border-radius: 6px; }
figcaption { font-size: 13px; color: #334155; margin-top: 4px; }
.chart .grid { stroke: #e2e8f0; stroke-width: 1; }
.chart .axis { fill: #64748b; font-size: 10px; font-family: inherit; }
.chart .note { fill: #94a3b8; font-size: 11px; font-style: italic; }
.chart .bar { fill: var(--accent); }
.chart .line { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; }
.chart .dot { fill: var(--accent); }
.hist-baseline { fill: var(--baseline); opacity: .55; background: var(--baseline); }
.hist-current { fill: var(--current); opacity: .55; background: var(--current); }
.mark-baseline { stroke: var(--baseline); stroke-width: 1.5; }
.mark-current { stroke: var(--current); stroke-width: 1.5; }
line.p95 { stroke-dasharray: 4 3; }
.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 2px 18px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
footer { margin-top: 36px; color: var(--muted); font-size: 13px; }

.lead { margin: 10px 0 0; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
#triage h2 { margin-top: 20px; }
table.triage { font-size: 14px; }
table.triage th, table.triage td { padding: 6px 10px; vertical-align: middle; }
table.triage tbody.group { border-top: 2px solid #cbd5e1; }
table.triage tr { border-left: 4px solid transparent; }
table.triage tr.sev-critical { border-left-color: var(--critical); }
table.triage tr.sev-high { border-left-color: var(--high); }
table.triage tr.sev-medium { border-left-color: var(--medium); }
table.triage tr.sev-low { border-left-color: var(--low); }
table.triage tr.sev-info { border-left-color: var(--info); }
table.triage td.where { font-weight: 600; max-width: 16em; overflow-wrap: anywhere; }
table.triage .fn.repeat { color: #94a3b8; font-weight: 400; }
table.triage td.msg { min-width: 16em; }
table.triage td.state { white-space: nowrap; }
table.triage td.msg a { color: inherit; text-decoration-color: #cbd5e1; }
table.triage code.check { margin: 0; white-space: nowrap; }
table.triage details { border: 0; padding: 0; background: none; }
table.triage details[open] summary { margin-bottom: 4px; }
ul.names { margin: 0; padding-left: 18px; font-weight: 400; columns: 2 12em; }
.status-new { color: #9a3412; font-weight: 600; } .status-ongoing, .status-mixed { color: var(--muted); }
.change-worse { color: var(--high); font-weight: 600; }
.change-better { color: #15803d; } .change-unchanged, .change-new { color: var(--muted); }
.status-suppressed { background: #e2e8f0; color: #334155; }
.ref-threshold { stroke: var(--high); stroke-width: 1.5; stroke-dasharray: 5 3; background: var(--high); }
.ref-limit { stroke: var(--critical); stroke-width: 1.5; background: var(--critical); }
.ref-baseline { stroke: var(--baseline); stroke-width: 1.5; stroke-dasharray: 2 3; background: var(--baseline); }
.swatch.ref-threshold, .swatch.ref-limit, .swatch.ref-baseline { height: 3px; vertical-align: 3px; }
.finding { scroll-margin-top: 8px; }
.narrow-only { display: none; }
.body.solo { display: block; }
table.evidence td.short { white-space: nowrap; }
.body.solo table.evidence { width: auto; min-width: min(100%, 340px); max-width: 100%; }
.finding .body { min-width: 0; }
.finding .body > * { min-width: 0; }
@media (max-width: 600px) {
  main { padding: 10px 10px 32px; }
  h1 { font-size: 20px; margin-bottom: 4px; }
  h2 { font-size: 17px; margin: 22px 0 8px; }
  .page-header { padding: 10px 12px; }
  .facts { gap: 2px 16px; font-size: 13px; }
  .facts dt { font-size: 11px; }
  .tiles { gap: 6px; margin-top: 10px; }
  .tile { padding: 4px 10px; }
  .tile .n { font-size: 22px; }
  .lead { font-size: 13.5px; margin-top: 6px; }
  #triage h2 { margin-top: 14px; }
  .finding { padding: 10px 12px; }
  .charts { grid-template-columns: 1fr; }
  /* The triage table reads as one block per finding: severity, function and age; the finding; the check. */
  table.triage thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.triage, table.triage tbody { display: block; }
  table.triage tr { display: grid; grid-template-columns: auto 1fr auto;
    grid-template-areas: "sev where days" "msg msg msg" "check check state"; gap: 2px 8px; padding: 6px 8px; }
  table.triage td { border: 0; padding: 0; min-width: 0; }
  table.triage td.sev { grid-area: sev; }
  table.triage td.where { grid-area: where; white-space: normal; overflow-wrap: anywhere; }
  table.triage td.days { grid-area: days; color: var(--muted); font-size: 13px; }
  table.triage td.msg { grid-area: msg; min-width: 0; }
  table.triage td.check { grid-area: check; } table.triage td.state { grid-area: state; font-size: 13px; }
  table.triage tr + tr { border-top: 1px solid var(--line); }
  .narrow-only { display: inline; }
}
"""
