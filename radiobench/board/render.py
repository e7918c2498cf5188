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
TIED_MARK = "≈"  # rank 1 without the best mean: no row is significantly better (Holm-corrected paired tests)
REFUSED_MARK = "⊘"  # its per-item predictions could not be read or disagree with its scores: not tested, named below
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
            row[f"{t}_rank"] = cell.rank if cell else None
            row[f"{t}_not_worse_than_best"] = (cell.rank == 1) if cell and cell.rank is not None else None
            row[f"{t}_p_vs_best"] = cell.p_vs_best if cell else None
            row[f"{t}_refused"] = cell.refused if cell else None
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
    if cell.tied:
        text += f" {TIED_MARK}"
    if cell.refused:
        text += f" {REFUSED_MARK}"
    return text + (f" {IN_DOMAIN_MARK}" if cell.in_domain else "")


def _refusals(board: Board, text: Callable[[str], str]) -> list[str]:
    """One note per refused result, naming its file and why (its cell shows the mark)."""
    return [f"{REFUSED_MARK} {text(b)} on {text(t)}: not tested, {text(c.refused)}"
            for (b, t), c in sorted(board.cells.items()) if c.refused]


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
        "interval [low, high]: a two-stage percentile bootstrap over seeds, then test units (items within their "
        "class; whole fields for counting, the cluster bootstrap; whole images for detection), 2000 resamples drawn "
        "once per task and shared by its rows, computed from each result's per-item predictions.",
        f"{NO_INTERVAL_MARK}: no interval known (a result without per-item predictions, written before result "
        "schema 3): mean ± sample std over seeds instead, which on a fixed test split leaves out the test set's "
        "own uncertainty.",
        "Ties, bold and ranks follow one rule: every pair of rows in a column is tested on the test items both "
        "scored (McNemar's exact test for error, Dietterich 1998; a paired bootstrap of the difference for every "
        "other score, whose p-value and interval agree), and the column's tests are corrected together with Holm's "
        "step-down procedure (family-wise error 5 %; Holm 1979, as Demšar 2006 recommends for comparing "
        "classifiers). A row's rank on a task is 1 + the number of rows significantly better than it. Bold: the "
        f"best mean. {TIED_MARK}: rank 1 without the best mean (no row is significantly better). "
        "`radiobench compare A B` shows one pair's tests (uncorrected).",
        "Mean rank: the tested ranks on the real-data tasks; tasks that share source data are averaged first, so "
        "each survey counts once, then the mean over those groups. A row has mean rank 1.00 only where it is bold "
        f"or {TIED_MARK} on every real-data task it has. Rows with more tasks come first.",
        *_refusals(board, text),
        f"{IN_DOMAIN_MARK}: in-domain (the backbone's training data includes the task's source data).",
        *_shared_sources(board, text),
        "Hardware: " + text("; ".join(board.environments)),
    ]
    if any(m.get("simulated") for m in board.tasks.values()):
        lines.append("[SIMULATED]: task on simulated data (radiobench simulate); shown, left out of mean ranks.")
    if board.skipped_limited:
        lines.append(f"{board.skipped_limited} `--limit` result(s) left out.")
    return lines


def _shared_sources(board: Board, text: Callable[[str], str]) -> list[str]:
    """Real-data tasks drawn from the same survey (MiraBest and RGD are both FIRST cutouts, mostly the same
    sources): said on the page, with how the mean rank groups them (:func:`radiobench.board.collect.mean_ranks`)."""
    real = {t: {s.lower(): s for s in m.get("source_datasets", [])} for t, m in board.tasks.items() if not m.get("simulated")}
    lines = []
    names = sorted(real)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = sorted(real[a][k] for k in real[a].keys() & real[b].keys())
            if shared:
                lines.append(text(f"{a} and {b} share source data ({', '.join(shared)}): their sources overlap, so "
                                  "they are read together: the mean rank averages them into one group first."))
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


PROTOCOL_TEXT = {
    "linear": "Linear probe on frozen features: logistic regression (classification) or ridge (regression, ranking), "
              "regularisation chosen on training data alone.",
    "knn": "k-nearest-neighbour probe (k = 20, cosine distance) on frozen features: a check of feature geometry; "
           "nothing is fitted, so every seed gives the same number.",
    "knn-distance": "Unsupervised anomaly ranking: an item's score is its mean cosine distance to its 10 nearest "
                    "other items; no label is read.",
    "iforest": "Unsupervised anomaly ranking: scikit-learn isolation forest (200 trees) on standardised features.",
    "detect": "Detection: a light FCOS head trained on the frozen backbone's feature map (a source finder such as "
              "pyBDSF takes part as is).",
}
SORT_HINT = "Click a column header (marked ↕) to sort the table; click again to reverse. Wide tables scroll sideways."


def _direction(meta: dict[str, Any]) -> str:
    return f"{meta['main_score']}: {'higher' if meta['higher_is_better'] else 'lower'} is better ({_arrow(meta)})"


def _chance_text(info: dict[str, Any]) -> str:
    """One line on the task's chance level, plain text."""
    if info.get("chance") is None:
        return "Chance level: not known for this task (neither declared by the task nor computable from its results)."
    return (f"Chance level: {info['chance']:.4g} — {info['chance_note']} ({info['chance_source']}).")


def _plot(board: Board, task: str) -> str:
    """The task's bar chart with its intervals and chance line (:mod:`radiobench.board.plots`) as inline SVG."""
    from radiobench.board.plots import inline_svg

    info = board.info.get(task, {})
    caption = html.escape(f"{task}: {_direction(board.tasks[task])}. {_chance_text(info)}")
    out = (f'<figure class="plot" data-task="{html.escape(task)}">{inline_svg(board, task)}'
           f"<figcaption>{caption}</figcaption></figure>")
    matrices = inline_svg(board, task, "confusion")
    if matrices is not None:
        out += (f'<figure class="plot confusion" data-task="{html.escape(task)}">{matrices}<figcaption>'
                f"{html.escape(task)}: where each backbone's probe is wrong. Rows are the true classes, each "
                "normalised to its recall (the diagonal); test items pooled over seeds.</figcaption></figure>")
    return out


_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 2em;max-width:1600px;color:#222;line-height:1.4}
h1{margin:.3em 0}h2{border-bottom:2px solid #1f4e8c;padding-bottom:.2em;margin-top:2em}
p,li,dd,figcaption{overflow-wrap:anywhere}
nav a{margin-right:.8em}
.hint{background:#eef4fb;border-left:4px solid #1f4e8c;padding:.4em .8em;display:inline-block}
.table-wrap{max-width:100%;overflow-x:auto;border:1px solid #ddd;margin:1em 0}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
td{white-space:nowrap}
th{background:#f3f3f3;vertical-align:bottom}th small{font-weight:normal;color:#555}
th.sortable{cursor:pointer;user-select:none}th.sortable:hover,th.sortable:focus{background:#dde8f5}
.sort-icon{color:#1f4e8c;font-size:90%;white-space:nowrap}
td:first-child,th:first-child{text-align:left;position:sticky;left:0;background:#fff}
thead th:first-child{background:#f3f3f3}
tfoot td,tfoot th{background:#fbf1f0;color:#8a2a1f;font-style:italic}
.tasks{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,26em),1fr));gap:1em}
.task{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}.task h3{margin:.2em 0}
.task p{margin:.35em 0}.chance{color:#8a2a1f}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,600px),1fr));gap:0 2em}
figure.plot{margin:1.5em 0;min-width:0}figure.plot svg{max-width:100%;height:auto;display:block}
figcaption{font-size:90%;color:#444}
table.missing{width:100%}table.missing td,table.missing th{white-space:normal;text-align:left}table.missing td:last-child{overflow-wrap:anywhere}
footer{color:#555;font-size:90%}
@media (max-width:900px){body{padding:.5em .8em}th,td{padding:3px 6px}}
"""

# Click a header to sort (again to reverse); ``#sort=<column>`` or ``#sort=-<column>`` in the
# URL sorts every board with that column on load, so a sorted view can be linked. Numbers sort
# numerically, "–" last. When done, the page records in data attributes whether it is wider than
# the window (data-overflow-x on <body>), for the headless-browser test.
_SCRIPT = """
(function(){
  const m=location.hash.match(/sort=(-?)([^&]+)/);
  document.querySelectorAll('table.board').forEach(function(table){
    const body=table.tBodies[0], heads=[...table.tHead.rows[0].cells];
    function key(td){const v=td.dataset.value; return v===undefined||v===''?null:(isNaN(+v)?v:+v);}
    function sortBy(i,dir){
      const rows=[...body.rows];
      rows.sort((a,b)=>{const x=key(a.cells[i]),y=key(b.cells[i]);
        if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1; return (x<y?-1:x>y?1:0)*dir;});
      rows.forEach(r=>body.appendChild(r));
      heads.forEach(h=>{h.setAttribute('aria-sort','none'); h.querySelector('.sort-icon').textContent='↕';});
      heads[i].setAttribute('aria-sort',dir>0?'ascending':'descending');
      heads[i].querySelector('.sort-icon').textContent=dir>0?'▲':'▼';
      table.dataset.sortedBy=heads[i].dataset.col+(dir>0?'':':desc');
    }
    heads.forEach((h,i)=>{
      const go=()=>sortBy(i,h.getAttribute('aria-sort')==='ascending'?-1:1);
      h.addEventListener('click',go);
      h.addEventListener('keydown',e=>{if(e.key==='Enter'||e.key===' '){e.preventDefault();go();}});
    });
    if(m){const i=heads.findIndex(h=>h.dataset.col===decodeURIComponent(m[2])); if(i>=0) sortBy(i,m[1]?-1:1);}
    table.dataset.ready='1';
  });
  const root=document.documentElement;
  document.body.dataset.viewportWidth=String(root.clientWidth);
  document.body.dataset.pageWidth=String(root.scrollWidth);
  document.body.dataset.overflowX=root.scrollWidth>root.clientWidth?'1':'0';
  const shown=s=>{const e=document.querySelector(s); if(!e)return false; const r=e.getBoundingClientRect();
    return r.width>0&&r.height>0&&r.left>=0&&r.right<=root.clientWidth+1;};
  const checks={'sort-hint':'#sort-hint',tasks:'#tasks',unevaluated:'#unevaluated',plot:'figure.plot',table:'.table-wrap'};
  document.body.dataset.visible=Object.keys(checks).filter(k=>shown(checks[k])).join(' ');
  document.body.dataset.ready='1';
})();
"""


def _board_table(board: Board) -> str:
    esc = html.escape
    icon = '<span class="sort-icon" aria-hidden="true"> ↕</span>'

    def th(col: str, label: str, title: str = "") -> str:
        tip = f' title="{esc(title)}"' if title else ""
        return (f'<th data-col="{esc(col)}" class="sortable" tabindex="0" aria-sort="none"{tip}>'
                f"{label}{icon}</th>")

    head = [th("backbone", "backbone"), th("training_data", "training data")]
    for t, m in board.tasks.items():
        label = f"{esc(t)}{' [SIMULATED]' if m.get('simulated') else ''}<br><small>{esc(m['main_score'])} {_arrow(m)}</small>"
        head.append(th(t, label, f"{m['main_score']}, {'higher' if m['higher_is_better'] else 'lower'} is better"))
    head += [th("mean_rank", "mean rank", "1 = best; real-data tasks only"), th("tasks", "tasks")]
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
    chance = []
    for t in board.tasks:
        value = board.info.get(t, {}).get("chance")
        chance.append(f'<td title="{esc(board.info.get(t, {}).get("chance_note", ""))}">'
                      f'{"–" if value is None else f"{value:.4f}"}</td>')
    foot = (f'<tr class="chance-row"><th scope="row">chance level</th><td>no-skill predictor</td>{"".join(chance)}'
            "<td></td><td></td></tr>")
    protocol = esc(board.protocol)
    return (f'<div class="table-wrap"><table class="board" id="board-{protocol}" data-protocol="{protocol}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody><tfoot>{foot}</tfoot></table></div>')


def _tasks_section(boards: dict[str, Board]) -> str:
    """Each task once: what it is, where the data come from, which way its score goes, and its chance level."""
    esc = html.escape
    seen: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {}
    for protocol, board in boards.items():
        for t, meta in board.tasks.items():
            seen.setdefault(t, (meta, board.info.get(t, {}), []))[2].append(protocol)
    cards = []
    for t, (meta, info, protocols) in seen.items():
        description = info.get("description") or "(no description: the task is not installed here)"
        if info.get("registered_version") not in (None, meta["version"]):
            description += (f" [this describes the installed version {info['registered_version']}; the results are of "
                            f"version {meta['version']}]")
        citation = info.get("citation") or (
            "none: simulated data generated by radiobench" if meta.get("simulated") else "not recorded")
        cards.append(
            f'<div class="task" id="task-{esc(t)}" data-task="{esc(t)}"><h3>{esc(t)}'
            f'{" [SIMULATED]" if meta.get("simulated") else ""}</h3>'
            f'<p class="description">{esc(description)}</p>'
            f'<p class="citation"><b>Data:</b> {esc(citation)}</p>'
            f'<p class="direction"><b>Score:</b> {esc(_direction(meta))}</p>'
            f'<p class="chance">{esc(_chance_text(info))}</p>'
            f'<p class="protocols"><b>Boards:</b> {", ".join(f"<a href=#protocol-{esc(p)}>{esc(p)}</a>" for p in protocols)}</p>'
            "</div>"
        )
    return f'<section id="tasks"><h2>Tasks</h2><div class="tasks">{"".join(cards)}</div></section>'


def _unevaluated_section(missing: dict[str, str], training: dict[str, str]) -> str:
    esc = html.escape
    if missing:
        rows = "".join(f"<tr><td>{esc(b)}</td><td>{esc(training.get(b, '')) or '–'}</td><td>{esc(why)}</td></tr>"
                       for b, why in missing.items())
        listing = (f'<div class="table-wrap"><table class="missing"><thead><tr><th>backbone</th><th>training data</th>'
                   f"<th>why it has no result</th></tr></thead><tbody>{rows}</tbody></table></div>")
    else:
        listing = "<p>None: every registered backbone has results on this page.</p>"
    return (f'<section id="unevaluated"><h2>Registered backbones without results</h2>'
            "<p>Not yet evaluated: backbones installed with radiobench that have no result on this page, and why "
            "where it is known. <code>radiobench weights download NAME</code> fetches weights on a networked machine; "
            "<code>radiobench run --backbone NAME --task all</code> then evaluates them.</p>"
            f"{listing}</section>")


def to_html_page(boards: dict[str, Board], missing: dict[str, str] | None = None,
                 training: dict[str, str] | None = None) -> str:
    """One self-contained page: every protocol's board with its charts, the tasks, and the backbones without results.

    ``missing``: registered backbone -> why it has no result, and ``training``: backbone -> its training data
    (the CLI asks the registry, :mod:`radiobench.run.installed`; without them the section says none are known).
    """
    esc = html.escape
    missing = missing or {}
    sections = []
    for protocol, board in boards.items():
        plots = "".join(_plot(board, t) for t in board.tasks)
        footer = "".join(f"<p>{esc(line.replace('`', ''))}</p>" for line in _footer(board))
        about = PROTOCOL_TEXT.get(protocol, "")
        sections.append(
            f'<section class="protocol" id="protocol-{esc(protocol)}"><h2>Protocol: {esc(protocol)}</h2>'
            f'{f"<p>{esc(about)}</p>" if about else ""}'
            f'<p class="hint">{esc(SORT_HINT)}</p>{_board_table(board)}'
            f'<section class="plots" id="plots-{esc(protocol)}">{plots}</section><footer>{footer}</footer></section>'
        )
    nav = " ".join(f'<a href="#protocol-{esc(p)}">{esc(p)}</a>' for p in boards)
    names = ", ".join(boards)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>radiobench leaderboard ({esc(names)})</title><style>{_STYLE}</style></head><body>"
        "<header><h1>radiobench leaderboard</h1>"
        "<p>Frozen vision backbones evaluated on radio-astronomy tasks: each board compares backbones under one "
        "evaluation protocol; each cell is a task's main score (mean over seeds, 95 % interval in brackets), bold "
        "the best. The tasks, their data, which way each score goes and what a no-skill predictor scores (the "
        "chance level, the red dotted line on each chart) are described below the boards.</p>"
        f'<nav>Boards: {nav} · <a href="#tasks">tasks</a> · <a href="#unevaluated">backbones without results</a></nav>'
        f'<p class="hint" id="sort-hint">{esc(SORT_HINT)}</p></header>'
        f'{"".join(sections)}{_tasks_section(boards)}{_unevaluated_section(missing, training or {})}'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def to_html(board: Board) -> str:
    return to_html_page({board.protocol: board})


RENDERERS = {"md": to_markdown, "csv": to_csv, "html": to_html, "json": to_json}


def render(board: Board, fmt: str) -> str:
    return RENDERERS[fmt](board)
