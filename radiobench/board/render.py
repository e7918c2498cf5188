"""Rendering a leaderboard as Markdown, CSV, JSON or one self-contained HTML page."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable
from typing import Any

from radiobench.board.collect import Board

FORMATS = ("md", "csv", "html", "json")
IN_DOMAIN_MARK = "†"
NO_INTERVAL_MARK = "‡"  # a result without per-item predictions: mean ± std over seeds, no test-set interval
TIED_MARK = "≈"  # not significantly worse than the task's best (paired bootstrap on the shared test items)
OVERLAP_MARK = "~"  # no per-item predictions to pair: the 95 % intervals overlap the best's
# A cell starting with one of these is a formula to Excel/LibreOffice (OWASP "CSV injection"); tab and CR too
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Markdown/HTML specials in names: & first, so the entities written for the others are not escaped again.
# A | ends a table cell (even after a backslash in some renderers: an entity never does); < > & open HTML.
_MD_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "&#124;"), ("\\", "&#92;"), ("`", "&#96;"))


def md_text(text: str) -> str:
    """A name from a result file, safe inside a Markdown table cell or list item.

    Names normally pass ``specs._check_name`` (letters, digits, ``_ - .``) and come out unchanged,
    but a result file is plain JSON and can carry anything: ``<script>`` or a ``|`` must not turn
    into HTML or break the table, and a line break must not end the row.
    """
    text = " ".join(str(text).splitlines())
    for char, entity in _MD_ESCAPES:
        text = text.replace(char, entity)
    return text


def csv_cell(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would run as a formula: prefix a single quote (OWASP).

    Numbers are left as they are (a negative score is a number, not a formula); names such as
    ``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)`` or ``-foo`` are shown as typed.
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def rows(board: Board) -> list[dict[str, Any]]:
    out = []
    for b in board.ordered_backbones():
        meta = board.backbones[b]
        row: dict[str, Any] = {"backbone": b, "family": meta["family"], "training_data": ", ".join(meta["training_data"])}
        for t in board.tasks:
            cell = board.cells.get((b, t))
            row[f"{t}_mean"] = cell.mean if cell else None
            row[f"{t}_std"] = cell.std if cell else None
            row[f"{t}_ci_low"] = cell.low if cell else None
            row[f"{t}_ci_high"] = cell.high if cell else None
            row[f"{t}_in_domain"] = cell.in_domain if cell else None
            row[f"{t}_not_worse_than_best"] = cell.tied if cell else None
            row[f"{t}_p_vs_best"] = cell.p_vs_best if cell else None
        rank = board.ranks.get(b)
        row["mean_rank"] = rank if rank == rank else None  # NaN (simulated results only) -> null
        row["tasks"] = board.coverage(b)
        out.append(row)
    return out


def _arrow(meta: dict[str, Any]) -> str:
    return "↑" if meta["higher_is_better"] else "↓"


def _cell_text(board: Board, b: str, t: str) -> str:
    """``mean [low, high]`` where the interval is known, else ``mean ± std ‡``; then the tie and in-domain marks."""
    cell = board.cells.get((b, t))
    if cell is None:
        return "–"
    if cell.low is not None and cell.high is not None:
        text = f"{cell.mean:.4f} [{cell.low:.3f}, {cell.high:.3f}]"
    else:
        text = f"{cell.mean:.4f} ± {cell.std:.4f} {NO_INTERVAL_MARK}"
    if cell.tied and cell.tie_rule != "best":
        text += f" {TIED_MARK if cell.tie_rule == 'paired' else OVERLAP_MARK}"
    return text + (f" {IN_DOMAIN_MARK}" if cell.in_domain else "")


def _is_best(board: Board, b: str, t: str) -> bool:
    from radiobench.board.collect import best_of

    return (b, t) in board.cells and best_of(board, t) == b


def _title(task: str, meta: dict[str, Any]) -> str:
    """Plain text: each output format escapes it its own way."""
    return f"{task}{' [SIMULATED]' if meta.get('simulated') else ''} ({meta['main_score']} {_arrow(meta)})"


def _rank(board: Board, backbone: str) -> str:
    rank = board.ranks[backbone]
    return "–" if rank != rank else f"{rank:.2f}"  # NaN: only simulated results


def _footer(board: Board, text: Callable[[str], str] = str) -> list[str]:
    """The notes under the table; ``text`` escapes what comes from result files (the hardware strings)."""
    lines = [
        f"Protocol `{board.protocol.replace('`', '')}`; each cell is the mean over seeds with its 95 % confidence "
        "interval [low, high]: a two-stage BCa bootstrap over seeds and test items (stratified by class, by field "
        "for the counting tasks, whole images for detection; 2000 resamples, recorded in each result).",
        f"{NO_INTERVAL_MARK}: no interval known (a result without per-item predictions, written before result "
        "schema 3): mean ± sample std over seeds instead, which on a fixed test split leaves out the test set's "
        "own uncertainty.",
        f"Bold: the task's best mean. {TIED_MARK}: not significantly worse than the best (paired bootstrap of the "
        f"difference on the test items both scored, p >= 0.05; `radiobench compare` shows it). {OVERLAP_MARK}: no "
        "per-item predictions to pair, but the 95 % intervals overlap the best's (a looser rule). No correction "
        "for multiple comparisons.",
        "Mean rank: ranks of the means across the tasks a backbone has (1 = best), ignoring intervals and ties; "
        "rows with more tasks come first.",
        f"{IN_DOMAIN_MARK}: in-domain (the backbone's training data includes the task's source data).",
        "Hardware: " + text("; ".join(board.environments)),
    ]
    if any(m.get("simulated") for m in board.tasks.values()):
        lines.append("[SIMULATED]: task on simulated data (radiobench simulate); shown, left out of mean ranks.")
    if board.skipped_limited:
        lines.append(f"{board.skipped_limited} `--limit` result(s) left out.")
    return lines


def to_markdown(board: Board) -> str:
    head = ["backbone", "training data"] + [md_text(_title(t, m)) for t, m in board.tasks.items()]
    head += ["mean rank", "tasks"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b in board.ordered_backbones():
        cells = [md_text(b), md_text(", ".join(board.backbones[b]["training_data"])) or "–"]
        cells += [f"**{_cell_text(board, b, t)}**" if _is_best(board, b, t) else _cell_text(board, b, t)
                  for t in board.tasks]
        cells += [_rank(board, b), f"{board.coverage(b)}/{len(board.tasks)}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {line}" for line in _footer(board, md_text)) + "\n"


def to_csv(board: Board) -> str:
    """One row per backbone, quoted by the csv module; text cells that a spreadsheet would run are neutralised."""
    import csv

    table = rows(board)
    columns = list(table[0]) if table else ["backbone", "family", "training_data", "mean_rank", "tasks"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(c) for c in columns])
    for row in table:
        writer.writerow([csv_cell("" if row[c] is None else row[c]) for c in columns])
    return buffer.getvalue()


def to_json(board: Board) -> str:
    payload = {"protocol": board.protocol, "tasks": board.tasks, "rows": rows(board), "hardware": board.environments,
               "notes": _footer(board)}
    return json.dumps(payload, indent=2) + "\n"


def _plot(board: Board, task: str) -> str:
    """The task's bar chart with its intervals (matplotlib, :mod:`radiobench.board.plots`) as inline SVG."""
    from radiobench.board.plots import inline_svg

    return f'<figure class="plot" data-task="{html.escape(task)}">{inline_svg(board, task)}</figure>'


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
td{white-space:nowrap}
th{cursor:pointer;background:#f3f3f3;user-select:none}td:first-child,th:first-child{text-align:left}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
figure.plot{margin:1em 0}figure.plot svg{max-width:100%;height:auto}
footer{color:#555;font-size:90%}
"""

# Click a header to sort (again to reverse); ``#sort=<column>`` or ``#sort=-<column>`` in the
# URL sorts on load, so a sorted view can be linked. Numbers sort numerically, "–" last.
_SCRIPT = """
(function(){
  const table=document.getElementById('board'), body=table.tBodies[0];
  const heads=[...table.tHead.rows[0].cells];
  function key(td){const v=td.dataset.value; return v===undefined||v===''?null:(isNaN(+v)?v:+v);}
  function sortBy(i,dir){
    const rows=[...body.rows];
    rows.sort((a,b)=>{const x=key(a.cells[i]),y=key(b.cells[i]);
      if(x===null)return 1; if(y===null)return -1; return (x<y?-1:x>y?1:0)*dir;});
    rows.forEach(r=>body.appendChild(r));
    heads.forEach(h=>h.removeAttribute('aria-sort'));
    heads[i].setAttribute('aria-sort',dir>0?'ascending':'descending');
    table.dataset.sortedBy=heads[i].dataset.col+(dir>0?'':':desc');
  }
  heads.forEach((h,i)=>h.addEventListener('click',()=>sortBy(i,h.getAttribute('aria-sort')==='ascending'?-1:1)));
  const m=location.hash.match(/sort=(-?)([^&]+)/);
  if(m){const i=heads.findIndex(h=>h.dataset.col===decodeURIComponent(m[2])); if(i>=0) sortBy(i,m[1]?-1:1);}
  table.dataset.ready='1';
})();
"""


def to_html(board: Board) -> str:
    esc = html.escape
    head = ['<th data-col="backbone">backbone</th>', '<th data-col="training_data">training data</th>']
    head += [
        f'<th data-col="{esc(t)}" title="{esc(m["main_score"])}, {"higher" if m["higher_is_better"] else "lower"} is better">'
        f'{esc(_title(t, m))}</th>'
        for t, m in board.tasks.items()
    ]
    head += ['<th data-col="mean_rank">mean rank</th>', '<th data-col="tasks">tasks</th>']
    body = []
    for b in board.ordered_backbones():
        training = ", ".join(board.backbones[b]["training_data"])
        tds = [f'<td data-value="{esc(b)}">{esc(b)}</td>', f'<td data-value="{esc(training)}">{esc(training) or "–"}</td>']
        for t in board.tasks:
            cell = board.cells.get((b, t))
            value = "" if cell is None else repr(cell.mean)
            shown = esc(_cell_text(board, b, t))
            best = _is_best(board, b, t)
            tds.append(f'<td data-value="{value}"{" class=best" if best else ""}>'
                       f'{f"<strong>{shown}</strong>" if best else shown}</td>')
        tds.append(f'<td data-value="{board.ranks[b]!r}">{_rank(board, b)}</td>')
        tds.append(f'<td data-value="{board.coverage(b)}">{board.coverage(b)}/{len(board.tasks)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    plots = "".join(_plot(board, t) for t in board.tasks)
    footer = "".join(f"<p>{esc(line.replace('`', ''))}</p>" for line in _footer(board))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>radiobench leaderboard ({esc(board.protocol)})</title><style>{_STYLE}</style></head><body>"
        f"<h1>radiobench leaderboard</h1>"
        f'<table id="board"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f'<section id="plots">{plots}</section><footer>{footer}</footer>'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


RENDERERS = {"md": to_markdown, "csv": to_csv, "html": to_html, "json": to_json}


def render(board: Board, fmt: str) -> str:
    return RENDERERS[fmt](board)
