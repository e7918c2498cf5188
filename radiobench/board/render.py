"""Rendering a leaderboard as Markdown, CSV, JSON or one self-contained HTML page."""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Callable
from typing import Any

from radiobench.board.collect import Board

FORMATS = ("md", "csv", "html", "json")
IN_DOMAIN_MARK = "†"
NO_INTERVAL_MARK = "‡"  # a result without per-item predictions: mean ± std over seeds, no test-set interval
TIED_MARK = "≈"  # rank 1 without the best mean: no row is significantly better (Holm-corrected paired tests)
REFUSED_MARK = "⊘"  # its per-item predictions could not be read or disagree with its scores: not tested, named below
DEGENERATE_MARK = "≡"  # one predicted class or value for every test item: a constant guess, named below
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
    if cell.degenerate:
        text += f" {DEGENERATE_MARK}"
    return text + (f" {IN_DOMAIN_MARK}" if cell.in_domain else "")


def _refusals(board: Board, text: Callable[[str], str]) -> list[str]:
    """One note per refused result, naming its file and why (its cell shows the mark)."""
    return [f"{REFUSED_MARK} {text(b)} on {text(t)}: not tested, {text(c.refused)}"
            for (b, t), c in sorted(board.cells.items()) if c.refused]


def _degenerates(board: Board, text: Callable[[str], str]) -> list[str]:
    """One note per result whose predictions are constant (its cell shows the mark): its score is that of a
    constant guess, often exactly the chance level with an interval of no width, and would otherwise read as a
    measurement of the backbone."""
    return [f"{DEGENERATE_MARK} {text(b)} on {text(t)}: degenerate, {text(c.degenerate)}: a constant guess, so its "
            "score is what that guess earns, not a measure of the backbone's features."
            for (b, t), c in sorted(board.cells.items()) if c.degenerate]


def _is_best(board: Board, b: str, t: str) -> bool:
    from radiobench.board.collect import best_of

    return (b, t) in board.cells and best_of(board, t) == b


def _title(task: str, meta: dict[str, Any]) -> str:
    """Plain text: each output format escapes it its own way."""
    cv = f", {_cv_label(meta)}" if meta.get("cv_folds") else ""
    return f"{task}{' [SIMULATED]' if meta.get('simulated') else ''} ({meta['main_score']} {_arrow(meta)}{cv})"


def _cv_label(meta: dict[str, Any]) -> str:
    return f"{meta['cv_folds']}-fold CV"


def _cv_notes(board: Board, text: Callable[[str], str]) -> list[str]:
    """One note per cross-validated task: what its column is, and that the mean rank ranks on it."""
    lines = []
    for t, meta in board.tasks.items():
        if not meta.get("cv_folds"):
            continue
        of = meta.get("cv_of")
        where = (f"the mean rank uses it in place of {of} where a row has both (and {of} where a row has only that); "
                 f"{of}, the literature split, stays beside it for comparison with papers") if of in board.tasks else \
            "the mean rank uses it as any other task"
        lines.append(text(f"{t} ({_cv_label(meta)}): the cross-validated estimate{f' of {of}' if of else ''}: every "
                          f"labelled item is tested once per seed, by a probe fitted on the other folds ({meta['cv_folds']}"
                          " folds of whole groups of the task's items, such as sources close on the sky, redrawn per "
                          f"seed), so its interval is narrower than a literature test split's; {where}."))
    return lines


def _rank(board: Board, backbone: str) -> str:
    rank = board.ranks[backbone]
    return "–" if rank != rank else f"{rank:.2f}"  # NaN: only simulated results


INTERVAL_NOTE = (
    "a two-stage percentile bootstrap over seeds, then test units (items within their class; whole fields for "
    "counting, the cluster bootstrap; whole images for detection), 2000 resamples drawn once per task and shared "
    "by its rows, computed from each result's per-item predictions.")
NO_INTERVAL_NOTE = (
    f"{NO_INTERVAL_MARK}: no interval known (a result without per-item predictions, written before result schema 3): "
    "mean ± sample std over seeds instead, which on a fixed test split leaves out the test set's own uncertainty.")
TIES_NOTE = (
    "Ties, bold and ranks follow one rule: every pair of rows in a column is tested on the test items both scored "
    "(McNemar's exact test for error, Dietterich 1998; a paired bootstrap of the difference for every other score, "
    "whose p-value and interval agree), and the column's tests are corrected together with Holm's step-down "
    "procedure (family-wise error 5 %; Holm 1979, as Demšar 2006 recommends for comparing classifiers). A row's "
    "rank on a task is 1 + the number of rows significantly better than it. Bold: the best mean. "
    f"{TIED_MARK}: rank 1 without the best mean (no row is significantly better). "
    "`radiobench compare A B` shows one pair's tests (uncorrected).")
MEAN_RANK_NOTE = (
    "Mean rank: the tested ranks on the real-data tasks; tasks that share source data are averaged first, so each "
    "survey counts once, then the mean over those groups. A row has mean rank 1.00 only where it is bold or "
    f"{TIED_MARK} on every real-data task it has. Rows with more tasks come first, then by mean rank, then by the "
    "score of the board's first task.")
IN_DOMAIN_NOTE = f"{IN_DOMAIN_MARK}: in-domain (the backbone's training data includes the task's source data)."
SIMULATED_NOTE = "[SIMULATED]: task on simulated data (radiobench simulate); shown, left out of mean ranks."
DEGENERATE_NOTE = (
    f"{DEGENERATE_MARK}: degenerate: the result predicted one class (or one value) for every test item, a constant "
    "guess; its score is what that guess earns (often exactly the chance level, with an interval of no width).")
REFUSED_NOTE = (f"{REFUSED_MARK}: not tested: the result's per-item predictions could not be read or do not give "
                "back its recorded score (its board says why); it has no rank.")


def _footer(board: Board, text: Callable[[str], str] = str) -> list[str]:
    """The notes under the table; ``text`` escapes what comes from result files (the hardware strings)."""
    lines = [
        f"Protocol `{board.protocol.replace('`', '')}`; each cell is the mean over seeds with its 95 % confidence "
        f"interval [low, high]: {INTERVAL_NOTE}",
        NO_INTERVAL_NOTE,
        TIES_NOTE,
        MEAN_RANK_NOTE,
        *_cv_notes(board, text),
        *_refusals(board, text),
        *_degenerates(board, text),
        IN_DOMAIN_NOTE,
        *_shared_sources(board, text),
        "Hardware: " + text("; ".join(board.environments)),
    ]
    if any(m.get("simulated") for m in board.tasks.values()):
        lines.append(SIMULATED_NOTE)
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
            if b == board.tasks[a].get("cv_of") or a == board.tasks[b].get("cv_of"):
                continue  # one task, cross-validated and on its literature split: said by _cv_notes
            shared = sorted(real[a][k] for k in real[a].keys() & real[b].keys())
            if shared:
                lines.append(text(f"{a} and {b} share source data ({', '.join(shared)}): their sources overlap, so "
                                  "they are read together: the mean rank averages them into one group first."))
    return lines


FIELDS_NOTE = ("each field's mean taken off both the counts and the predictions, then R² on what is left: only "
               "a prediction that follows the counts inside a field scores above 0 (95 % intervals resample seeds, "
               "then whole fields)")


def _field_intro(board: Board, task: str) -> str:
    view = board.fields[task]
    return (f"A field-mean oracle, which predicts each test crop as its field's true "
            f"mean count, scores R² {view['oracle_r2']:.2f} overall (mean over the seeds' test fields) and 0 within "
            f"fields, so an overall R² near {view['oracle_r2']:.2f} can be recognising the field alone. "
            f"R² within fields: {FIELDS_NOTE}.")


def _field_rows(board: Board, task: str) -> list[tuple[str, str, str]]:
    """(backbone, overall R², within-field R²) as text, best within-field R² first."""
    scores = board.fields[task]["rows"]

    def text(value: tuple[float, float, float]) -> str:
        return f"{value[0]:.3f} [{value[1]:.3f}, {value[2]:.3f}]"

    order = sorted(scores, key=lambda b: (math.isnan(scores[b].r2_within[0]), -scores[b].r2_within[0], b))  # NaN last
    return [(b, text(scores[b].r2), text(scores[b].r2_within)) for b in order]


def _fields_markdown(board: Board) -> str:
    out = ""
    for task in board.fields:
        out += (f"\n**{md_text(task)}: counting within fields.** {md_text(_field_intro(board, task))}\n\n"
                "| backbone | R² overall | R² within fields |\n|---|---|---|\n")
        out += "".join(f"| {md_text(b)} | {overall} | {within} |\n" for b, overall, within in _field_rows(board, task))
    return out


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
    return ("\n".join(lines) + "\n\n" + "\n".join(f"- {line}" for line in _footer(board, md_text)) + "\n"
            + _fields_markdown(board))


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
_STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em 2em;max-width:1600px;color:#222;line-height:1.4}
h1{margin:.3em 0}h2{border-bottom:2px solid #1f4e8c;padding-bottom:.2em;margin-top:2em}
.fields{grid-column:1/-1;font-size:.9em}.fields table{border-collapse:collapse}
.fields td,.fields th{padding:2px 10px;text-align:right;border-bottom:1px solid #e5e5e5}
.fields td:first-child,.fields th:first-child{text-align:left}
p,li,dd,figcaption{overflow-wrap:anywhere}
nav a{margin-right:.3em}
.glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,32em),1fr));gap:0 2.5em;
  background:#f6f9fd;border:1px solid #cfdcec;border-radius:6px;padding:.2em 1.4em .8em;margin:1em 0}
.glance h2{font-size:1.1em;border:0;margin:.8em 0 .3em;padding:0;color:#1f4e8c}
.glance ul{margin:.2em 0;padding-left:1.2em}.glance li{margin:.25em 0}.glance small{color:#555}
.glance .leaders li{margin:.45em 0}
.hint{background:#eef4fb;border-left:4px solid #1f4e8c;padding:.4em .8em;display:inline-block;margin:.3em 0}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.6em;margin:.6em 0}.legend div{display:flex;gap:.4em}
.legend dt{font-weight:bold;min-width:1em;text-align:center}.legend dd{margin:0;color:#444}
.notes{columns:2 34em;column-gap:2.5em;font-size:90%;color:#444}.notes p{margin:0 0 .6em;break-inside:avoid}
.about{margin:.4em 0}
.table-wrap{width:fit-content;max-width:100%;overflow-x:auto;border:1px solid #ddd;margin:1em 0}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
table.board td{white-space:nowrap;vertical-align:top}
th{background:#f3f3f3;vertical-align:bottom}th small{font-weight:normal;color:#555}
th.sortable{cursor:pointer;user-select:none}th.sortable:hover,th.sortable:focus{background:#dde8f5}
.sort-icon{color:#1f4e8c;font-size:90%;white-space:nowrap}
td:first-child,th:first-child{text-align:left;position:sticky;left:0;background:#fff;z-index:1}
thead th:first-child{background:#f3f3f3}
table.board td.name{white-space:normal;min-width:9em;box-shadow:1px 0 0 #bbb}
td.name .backbone{font-weight:600}td.name small{max-width:17em}
td.name small,td.score small{display:block;color:#666;font-size:78%;line-height:1.25}
td.score{line-height:1.25}td.score.best{background:#f1f6fc}
td.mean-rank{font-weight:600;background:#fafcff}
th.sim,td.sim{background:#fafafa}th.sim{color:#555}
.badge{display:inline-block;font-size:70%;font-weight:normal;letter-spacing:.03em;padding:0 .35em;border-radius:3px;
  background:#e8e2f5;color:#4b3b78;vertical-align:middle}
.mark{color:#1f4e8c}.mark.degenerate,.mark.refused{color:#b03a12;font-weight:bold}
td.degenerate small{color:#b03a12}
tfoot td,tfoot th{background:#fbf1f0;color:#8a2a1f;font-style:italic;font-weight:normal}
.board-notes{font-size:90%;color:#6b2a15;background:#fdf6f2;border-left:4px solid #d9825b;padding:.3em .8em}
.board-notes p{margin:.3em 0}
.task-block{display:grid;grid-template-columns:minmax(15em,1fr) minmax(0,2.4fr);gap:.5em 2em;align-items:start;
  margin:1.5em 0;padding-top:1em;border-top:1px solid #e3e3e3}
.task-block>*{min-width:0}.task-block>details{grid-column:1/-1}
.task{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;background:#fcfcfc}.task h3{margin:.2em 0}
.task p{margin:.35em 0}.chance{color:#8a2a1f}.task.brief{background:#fff}
figure.plot{margin:0;min-width:0}figure.plot svg{max-width:100%;height:auto;display:block}
figure.confusion .scroll{overflow-x:auto}figure.confusion svg{min-width:900px;max-width:1300px;width:100%}
details.confusion summary{cursor:pointer;color:#1f4e8c;margin:.3em 0}
figure.efficiency{margin:1em 0 2em}figure.efficiency .scroll{overflow-x:auto}
figure.efficiency svg{min-width:760px;max-width:1150px;width:100%}
figcaption{font-size:90%;color:#444}
table.missing{width:100%}table.missing td,table.missing th{white-space:normal;text-align:left}table.missing td:last-child{overflow-wrap:anywhere}
@media (max-width:900px){body{padding:.5em .8em}th,td{padding:3px 5px}.task-block{grid-template-columns:1fr}
  .notes{columns:1}}
"""

# Click a header to sort (again to reverse); ``#sort=<column>`` or ``#sort=-<column>`` in the
# URL sorts every board with that column on load, so a sorted view can be linked. Numbers sort
# numerically, "–" last. When done, the page records in data attributes what the headless-browser
# tests check: whether it is wider than the window (data-overflow-x on <body>), which blocks are laid
# out inside the window (data-visible), which of the first table's first-row cells (name, mean rank)
# show without scrolling sideways (data-first-row-visible), and the first table's columns in order.
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
  const root=document.documentElement, data=document.body.dataset;
  data.viewportWidth=String(root.clientWidth);
  data.pageWidth=String(root.scrollWidth);
  data.overflowX=root.scrollWidth>root.clientWidth?'1':'0';
  const inside=(e,box)=>{if(!e)return false; const r=e.getBoundingClientRect();
    return r.width>0&&r.height>0&&r.left>=Math.max(0,box.left)-1&&r.right<=Math.min(root.clientWidth,box.right)+1;};
  const page={left:0,right:root.clientWidth};
  const checks={glance:'#glance',reading:'#reading','sort-hint':'#sort-hint','task-card':'.task',
    unevaluated:'#unevaluated',plot:'figure.plot',table:'.table-wrap',efficiency:'figure.efficiency'};
  data.visible=Object.keys(checks).filter(k=>inside(document.querySelector(checks[k]),page)).join(' ');
  const first=document.querySelector('table.board');
  if(first){
    const row=first.tBodies[0].rows[0], box=first.closest('.table-wrap').getBoundingClientRect();
    const cells={name:row.cells[0],'mean-rank':row.querySelector('td.mean-rank')};
    data.firstRowVisible=Object.keys(cells).filter(k=>inside(cells[k],box)&&inside(cells[k],page)).join(' ');
    data.firstTableColumns=[...first.tHead.rows[0].cells]
      .map(h=>h.dataset.col+(h.classList.contains('sim')?':simulated':'')).join(' ');
  }
  data.ready='1';
})();
"""


SORT_HINT = ("Click a column header (marked ↕) to sort a table; click again to reverse. On a narrow window the score "
             "columns scroll sideways beside the backbone names.")
BUDGET_PROTOCOL = re.compile(r".+-n\d+")  # a label-budget board (linear-n10, ...): after the label-efficiency figures


def _direction(meta: dict[str, Any]) -> str:
    return f"{meta['main_score']}: {'higher' if meta['higher_is_better'] else 'lower'} is better ({_arrow(meta)})"


def _chance_text(info: dict[str, Any]) -> str:
    """One line on the task's chance level, plain text."""
    if info.get("chance") is None:
        return "Chance level: not known for this task (neither declared by the task nor computable from its results)."
    return (f"Chance level: {info['chance']:.4g} — {info['chance_note']} ({info['chance_source']}).")


def _real_tasks(board: Board) -> list[str]:
    return [t for t, m in board.tasks.items() if not m.get("simulated")]


def _first_boards(boards: dict[str, Board]) -> dict[str, str]:
    """Each task's first board in page order: where its full card and open confusion matrices are shown."""
    first: dict[str, str] = {}
    for protocol, board in boards.items():
        for t in board.tasks:
            first.setdefault(t, protocol)
    return first


# ---------------------------------------------------------------------------------------------- the board table

def _marks_html(board: Board, cell: Any) -> str:
    """The cell's marks, each with a tooltip saying what it means (the notes say it once for the whole page)."""
    esc = html.escape
    marks = []
    if cell.low is None or cell.high is None:
        marks.append((NO_INTERVAL_MARK, "no interval known: ± std over seeds"))
    if cell.tied:
        marks.append((TIED_MARK, "rank 1 without the best mean: no row is significantly better"))
    if cell.refused:
        marks.append((REFUSED_MARK, f"not tested: {cell.refused}"))
    if cell.degenerate:
        marks.append((DEGENERATE_MARK, f"degenerate: {cell.degenerate}"))
    if cell.in_domain:
        marks.append((IN_DOMAIN_MARK, "in-domain: the backbone's training data include the task's source data"))
    classes = {DEGENERATE_MARK: " degenerate", REFUSED_MARK: " refused"}
    return "".join(f' <span class="mark{classes.get(m, "")}" title="{esc(tip)}">{esc(m)}</span>' for m, tip in marks)


def _score_cell(board: Board, b: str, t: str) -> str:
    """Mean (bold where best) and marks on the first line, the 95 % interval (or ± std) smaller below: two short
    lines keep a score column about 8 em wide, so a board of four tasks fits a 1400 px window with its mean rank."""
    cell = board.cells.get((b, t))
    sim = " sim" if board.tasks[t].get("simulated") else ""
    if cell is None:
        return f'<td class="score{sim}" data-value="">–</td>'
    best = _is_best(board, b, t)
    mean = f"<strong>{cell.mean:.4f}</strong>" if best else f"{cell.mean:.4f}"
    if cell.low is not None and cell.high is not None:
        spread = f"[{cell.low:.3f}, {cell.high:.3f}]"
    else:
        spread = f"± {cell.std:.4f}"
    rank = "" if cell.rank is None else f' title="rank {cell.rank}: 1 + the rows significantly better"'
    classes = f"score{sim}{' best' if best else ''}{' degenerate' if cell.degenerate else ''}"
    return (f'<td class="{classes}" data-value="{cell.mean!r}"{rank}>{mean}{_marks_html(board, cell)}'
            f'<small class="ci">{spread}</small></td>')


def _name_cell(board: Board, b: str) -> str:
    """The name, then family and training data small below it (wrapping): a wide training-data column was what
    pushed the mean rank off a 1400 px window."""
    esc = html.escape
    meta = board.backbones[b]
    training = ", ".join(meta.get("training_data") or []) or "no pretraining"
    detail = " · ".join(x for x in (meta.get("family") or "", training) if x)
    return (f'<td class="name" data-value="{esc(b)}"><span class="backbone">{_breakable(b)}</span>'
            f'<small class="training">{esc(detail)}</small></td>')


def _breakable(name: str) -> str:
    """The escaped name with a line-break opportunity after each ``_``: on a narrow window the name column wraps
    ``imagenet_efficientnet_lite0`` at its underscores instead of pushing the scores away."""
    return "_<wbr>".join(html.escape(part) for part in name.split("_"))


def _board_table(board: Board) -> str:
    esc = html.escape
    icon = '<span class="sort-icon" aria-hidden="true"> ↕</span>'

    def th(col: str, label: str, title: str = "", extra: str = "") -> str:
        tip = f' title="{esc(title)}"' if title else ""
        return (f'<th data-col="{esc(col)}" class="sortable{extra}" tabindex="0" aria-sort="none"{tip}>'
                f"{label}{icon}</th>")

    head = [th("backbone", "backbone"), th("mean_rank", "mean<br>rank", "1 = best; real-data tasks only", " rank")]
    for t, m in board.tasks.items():
        sim = bool(m.get("simulated"))
        cv = f" · {_cv_label(m)}" if m.get("cv_folds") else ""
        label = (f"{esc(t)}{'<br><span class=badge>SIMULATED</span>' if sim else ''}"
                 f"<br><small>{esc(m['main_score'])} {_arrow(m)}{esc(cv)}</small>")
        tip = f"{m['main_score']}, {'higher' if m['higher_is_better'] else 'lower'} is better"
        if cv:
            of = f", the estimate of {m['cv_of']}: the mean rank uses it in its place" if m.get("cv_of") else ""
            tip += f"; {m['cv_folds']}-fold cross-validation over every item{of}"
        head.append(th(t, label, tip, " sim" if sim else ""))
    head.append(th("tasks", "tasks"))
    body = []
    for b in board.ordered_backbones():
        tds = [_name_cell(board, b), f'<td class="mean-rank" data-value="{board.ranks[b]!r}">{_rank(board, b)}</td>']
        tds += [_score_cell(board, b, t) for t in board.tasks]
        tds.append(f'<td data-value="{board.coverage(b)}">{board.coverage(b)}/{len(board.tasks)}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    chance = []
    for t, m in board.tasks.items():
        value = board.info.get(t, {}).get("chance")
        chance.append(f'<td class="{"sim" if m.get("simulated") else ""}" '
                      f'title="{esc(board.info.get(t, {}).get("chance_note", ""))}">'
                      f'{"–" if value is None else f"{value:.4f}"}</td>')
    foot = (f'<tr class="chance-row"><th scope="row">chance level <small>(no-skill predictor)</small></th><td></td>'
            f'{"".join(chance)}<td></td></tr>')
    protocol = esc(board.protocol)
    return (f'<div class="table-wrap"><table class="board" id="board-{protocol}" data-protocol="{protocol}">'
            f'<thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(body)}</tbody><tfoot>{foot}</tfoot></table></div>')


# ---------------------------------------------------------------------------------- task cards and charts

def _task_card(board: Board, task: str, full: bool, first: str) -> str:
    """What the task measures, beside its chart: the whole card on the task's first board; on later boards the
    direction and chance level (what reading this chart needs) and a link to the whole card."""
    esc = html.escape
    meta, info = board.tasks[task], board.info.get(task, {})
    title = f'<h3>{esc(task)}{" <span class=badge>SIMULATED</span>" if meta.get("simulated") else ""}</h3>'
    direction = f'<p class="direction"><b>Score:</b> {esc(_direction(meta))}</p>'
    chance = f'<p class="chance">{esc(_chance_text(info))}</p>'
    if not full:
        return (f'<div class="task brief" data-task="{esc(task)}">{title}{direction}{chance}'
                f'<p class="more"><a href="#task-{esc(task)}">What {esc(task)} measures</a> '
                f"(with the {esc(first)} board)</p></div>")
    description = info.get("description") or "(no description: the task is not installed here)"
    if info.get("registered_version") not in (None, meta["version"]):
        description += (f" [this describes the installed version {info['registered_version']}; the results are of "
                        f"version {meta['version']}]")
    citation = info.get("citation") or ("none: simulated data generated by radiobench" if meta.get("simulated")
                                        else "not recorded")
    registered = ""
    if info.get("preregistration"):
        page, commit = info["preregistration"].rsplit("@", 1)
        registered = (f'<p class="preregistration"><b>Pre-registered:</b> <code>{esc(page)}</code>, frozen at commit '
                      f"<code>{esc(commit)}</code> before its test split was scored</p>")
    return (f'<div class="task" id="task-{esc(task)}" data-task="{esc(task)}">{title}'
            f'<p class="description">{esc(description)}</p><p class="citation"><b>Data:</b> {esc(citation)}</p>'
            f"{direction}{chance}{registered}</div>")


def _task_block(board: Board, task: str, first: str) -> str:
    """One task of one board: its card beside its bar chart, and its confusion matrices across the page below
    (open on the task's first board, folded on the others: the page has one set per board)."""
    from radiobench.board.plots import inline_svg

    esc = html.escape
    full = first == board.protocol
    out = (f'<div class="task-block" data-task="{esc(task)}">{_task_card(board, task, full, first)}'
           f'<figure class="plot" data-task="{esc(task)}">{inline_svg(board, task)}</figure>')
    matrices = inline_svg(board, task, "confusion")
    if matrices is not None:
        caption = (f"{esc(task)}: where each backbone's probe is wrong. Rows are the true classes, each normalised "
                   "to its recall (the diagonal); test items pooled over seeds.")
        figure = (f'<figure class="plot confusion" data-task="{esc(task)}"><div class="scroll">{matrices}</div>'
                  f"<figcaption>{caption}</figcaption></figure>")
        out += (f'<details class="confusion"{" open" if full else ""}><summary>Confusion matrices: {esc(task)} '
                f"({esc(board.protocol)})</summary>{figure}</details>")
    if task in board.fields:
        body = "".join(f"<tr><td>{esc(b)}</td><td>{esc(overall)}</td><td>{esc(within)}</td></tr>"
                       for b, overall, within in _field_rows(board, task))
        out += (f'<div class="fields" data-task="{esc(task)}"><p><b>{esc(task)}: counting within fields.</b> '
                f"{esc(_field_intro(board, task))}</p><table>"
                f"<thead><tr><th>backbone</th><th>R² overall</th><th>R² within fields</th></tr></thead>"
                f"<tbody>{body}</tbody></table></div>")
    return out + "</div>"


# ---------------------------------------------------------------------------------------------- the headline

def _surveys(boards: dict[str, Board]) -> dict[str, str]:
    """The real-data tasks' source data sets (lower case -> as written): what "radio-pretrained" is measured by."""
    found: dict[str, str] = {}
    for board in boards.values():
        for t in _real_tasks(board):
            for s in board.tasks[t].get("source_datasets", []):
                found.setdefault(s.lower(), s)
    return found


def _trained_on(data: Any, surveys: dict[str, str]) -> bool:
    items = data.split(", ") if isinstance(data, str) else list(data or [])
    return any(str(d).lower() in surveys for d in items)


def _leaders(boards: dict[str, Board]) -> list[tuple[str, Board, str, list[str]]]:
    """Per real-data task, on its first board: (task, board, the best mean's row, the rows tied with it (≈))."""
    from radiobench.board.collect import best_of

    out, seen = [], set()
    for board in boards.values():
        for t in _real_tasks(board):
            cells = {b: c for (b, task), c in board.cells.items() if task == t}
            if t in seen or not cells:
                continue
            seen.add(t)
            best = best_of(board, t)
            tied = [b for b in board.ordered_backbones() if (c := cells.get(b)) is not None and c.tied]
            out.append((t, board, best, tied))
    return out


def _names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: plain text."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _leader_items(leaders: list[tuple[str, Board, str, list[str]]]) -> str:
    esc = html.escape
    items = []
    for t, board, best, tied in leaders:
        cell = board.cells[(best, t)]
        spread = f" [{cell.low:.3f}, {cell.high:.3f}]" if cell.low is not None and cell.high is not None else ""
        others = (f"<br><small>tied with it ({TIED_MARK}, {len(tied)}): {esc(', '.join(tied))}</small>" if tied
                  else "<br><small>every other row is significantly worse</small>" if cell.rank is not None else "")
        items.append(f'<li class="leader" data-task="{esc(t)}" data-best="{esc(best)}"><a href="#task-{esc(t)}">'
                     f"{esc(t)}</a> <small>({esc(_direction(board.tasks[t]))}; {esc(board.protocol)} board)</small>: "
                     f"<strong>{esc(best)}</strong> {cell.mean:.4f}{spread}{others}</li>")
    return "".join(items)


def _lead_statement(leaders: list[tuple[str, Board, str, list[str]]]) -> str:
    """Whether one kind of pretraining leads every real-data task, from the leaders' training data and family."""
    if not leaders:
        return "There is no real-data task on this page yet: the boards cannot say anything about radio data."
    training = {", ".join(board.backbones[best].get("training_data") or []) for _, board, best, _ in leaders}
    families = {board.backbones[best].get("family", "") for _, board, best, _ in leaders}
    by_row: dict[str, list[str]] = {}
    for t, _, best, _ in leaders:
        by_row.setdefault(best, []).append(t)
    rows = _names([f"{b} ({', '.join(ts)})" for b, ts in by_row.items()])
    if len(training) == 1 and (data := next(iter(training))):
        family = f" (family {next(iter(families))})" if len(families) == 1 and next(iter(families)) else ""
        return f"Backbones pretrained on {data}{family} have the best mean on every real-data task: {rows}."
    return f"The best mean on the real-data tasks: {rows}."


def _rank_one_statement(leaders: list[tuple[str, Board, str, list[str]]]) -> str:
    """The rows tied with the best on every real-data task of the leaders' first board (mean rank 1.00)."""
    if not leaders:
        return ""
    board = leaders[0][1]
    top = [b for b in board.ordered_backbones() if board.ranks.get(b) == 1.0]
    if not top:
        return ""
    return (f"On the {board.protocol} board, {len(top)} row{'s' if len(top) > 1 else ''} "
            f"{'are' if len(top) > 1 else 'is'} best or tied with the best on every real-data task "
            f"{'they have' if len(top) > 1 else 'it has'} (mean rank 1.00): {_names(top)}.")


def _radio_rows(boards: dict[str, Board], surveys: dict[str, str]) -> dict[str, Board]:
    """Rows pretrained on the real tasks' survey data that have a mean rank, each with its first board that ranks it."""
    found: dict[str, Board] = {}
    for board in boards.values():
        for b, meta in board.backbones.items():
            rank = board.ranks.get(b, float("nan"))
            if b not in found and rank == rank and _trained_on(meta.get("training_data"), surveys):
                found[b] = board
    return found


def _radio_row_text(b: str, board: Board) -> str:
    """How one radio-pretrained row does: its mean rank and on how many real-data tasks it is best or tied."""
    real = [t for t in _real_tasks(board) if (b, t) in board.cells]
    top = sum(1 for t in real if board.cells[(b, t)].rank == 1)
    data = ", ".join(board.backbones[b].get("training_data") or [])
    seen = any(board.cells[(b, t)].in_domain for t in real)
    domain = f" (in-domain {IN_DOMAIN_MARK}: its pretraining saw the tasks’ sources)" if seen else ""
    return (f"{b} (pretrained on {data}) has mean rank {board.ranks[b]:.2f} on the {board.protocol} board and is best "
            f"or tied with the best on {top} of its {len(real)} real-data task{'s' if len(real) != 1 else ''}{domain}.")


def _radio_statement(boards: dict[str, Board], missing: dict[str, str] | None, training: dict[str, str]) -> str:
    """What the board can say about pretraining on radio data: which radio-pretrained rows have results (and how
    they rank), and which registered ones have none and why. Radio data: the real tasks' source surveys."""
    surveys = _surveys(boards)
    if not surveys:
        return ""
    named = _names(sorted(surveys.values(), key=str.lower))
    with_results = _radio_rows(boards, surveys)
    lines = [_radio_row_text(b, board) for b, board in with_results.items()]
    absent = {b: why for b, why in (missing or {}).items() if _trained_on(training.get(b, ""), surveys)}
    if absent:
        groups: dict[str, list[str]] = {}
        for b in absent:
            groups.setdefault(training.get(b, ""), []).append(b)
        listed = _names([f"{', '.join(bs)} ({data})" for data, bs in groups.items()])
        reasons = "; ".join(sorted({_short_reason(why) for why in absent.values()}))
        lines.append(f"{'The other' if with_results else 'The'} registered backbones pretrained on radio data "
                     f"({named}) have no results here ({reasons}): {listed}. Until they do, the board cannot say "
                     "whether their radio pretraining beats the leaders.")
    elif not with_results:
        lines.append(f"No backbone pretrained on radio data ({named}) has results here"
                     + (" or is registered without them" if missing is not None else "")
                     + ": the board cannot say whether radio pretraining helps.")
    return " ".join(lines)


def _short_reason(why: str) -> str:
    """``weights not available here (url: ...)`` -> ``weights not available here``: the headline groups by it."""
    return why.split(" (")[0].strip() or "no reason known"


def _missing_summary(missing: dict[str, str] | None, training: dict[str, str]) -> str:
    """The unevaluated backbones grouped by training data (what they would bring) with why, for the headline."""
    esc = html.escape
    if missing is None:
        return ("<p>Registered backbones without results: not known (this page was rendered without the registry; "
                "<code>radiobench leaderboard --protocol all --format html</code> lists them).</p>")
    if not missing:
        return "<p>Every registered backbone has results on this page.</p>"
    groups: dict[str, list[str]] = {}
    for b in missing:
        groups.setdefault(training.get(b, "") or "no pretraining", []).append(b)
    reasons = {_short_reason(why) for why in missing.values()}
    one = len(reasons) == 1  # one reason for all (e.g. no weights on this machine): said once, not per group

    def why(names: list[str]) -> str:
        return "" if one else f" <small>({esc('; '.join(sorted({_short_reason(missing[b]) for b in names})))})</small>"

    items = "".join(f"<li><b>{esc(data)}</b>: {esc(', '.join(names))}{why(names)}</li>"
                    for data, names in sorted(groups.items(), key=lambda g: g[0].lower()))
    because = f", all for one reason: {esc(next(iter(reasons)))}" if one else ""
    count = f'{len(missing)} registered backbone{"s have" if len(missing) > 1 else " has"} no results{because}'
    return (f'<p>{count}. By training data (<a href="#unevaluated">details</a>):</p>'
            f'<ul class="missing-summary">{items}</ul>')


def _headline(boards: dict[str, Board], missing: dict[str, str] | None, training: dict[str, str]) -> str:
    """The page's answer at a glance, every statement computed from the boards and the registry's missing list."""
    leaders = _leaders(boards)
    statements = [s for s in (_lead_statement(leaders), _rank_one_statement(leaders),
                              _radio_statement(boards, missing, training)) if s]
    says = "".join(f"<li>{html.escape(s)}</li>" for s in statements)
    best = (f'<ul class="leaders">{_leader_items(leaders)}</ul>' if leaders
            else "<p>No real-data task has results yet.</p>")
    return (
        f'<section id="glance" class="glance"><div><h2>Best per real-data task</h2>{best}'
        f'<h2>Without results</h2><div class="missing-note">{_missing_summary(missing, training)}</div></div>'
        f'<div><h2>What the boards can say today</h2><ul class="says">{says}</ul>'
        # plain text, not a link: the page is read from leaderboard/ in a checkout and from the docs site's assets/
        '<p class="contribute"><b>Add yours:</b> register a backbone or task as a plugin (see '
        "<code>CONTRIBUTING.md</code> in the radiobench repository), run "
        "<code>radiobench run --backbone NAME --task all</code> and render this page.</p></div></section>")


# ---------------------------------------------------------------------------------------------- notes

def _common_hardware(boards: dict[str, Board]) -> tuple[str, ...]:
    """The most boards' hardware list: said once in the notes; a board on other hardware says its own."""
    from collections import Counter

    counts = Counter(tuple(b.environments) for b in boards.values())
    return counts.most_common(1)[0][0] if counts else ()


def _reading_notes(boards: dict[str, Board], hardware: tuple[str, ...]) -> str:
    """Every note that is the same for all boards, once ("How to read the boards")."""
    esc = html.escape
    shared = list(dict.fromkeys(line for b in boards.values() for line in _shared_sources(b, str)))
    legend = [("<strong>bold</strong>", "the best mean"), (TIED_MARK, "rank 1 without the best mean"),
              (IN_DOMAIN_MARK, "in-domain"), (NO_INTERVAL_MARK, "no interval: ± std over seeds"),
              (REFUSED_MARK, "not tested"), (DEGENERATE_MARK, "degenerate: a constant guess"),
              ("<span class=badge>SIMULATED</span>", "simulated data, left out of mean ranks")]
    cv = list(dict.fromkeys(line for b in boards.values() for line in _cv_notes(b, str)))
    notes = [f"Each score cell: the mean over seeds with its marks, and below it its 95 % confidence interval "
             f"[low, high]: {INTERVAL_NOTE}",
             NO_INTERVAL_NOTE, TIES_NOTE, MEAN_RANK_NOTE, *cv, IN_DOMAIN_NOTE, DEGENERATE_NOTE, REFUSED_NOTE, *shared]
    if any(m.get("simulated") for b in boards.values() for m in b.tasks.values()):
        notes.append(SIMULATED_NOTE)
    notes.append("Charts: one bar per row, best on top, whiskers the 95 % interval; dark bars are the best and the "
                 "rows not significantly worse; the dotted red line is the task's chance level (the score of a "
                 "no-skill predictor).")
    if hardware:
        notes.append(f"Hardware{' (unless a board says otherwise)' if len(boards) > 1 else ''}: {'; '.join(hardware)}")
    return (
        '<section id="reading"><h2>How to read the boards</h2>'
        f'<p class="hint" id="sort-hint">{esc(SORT_HINT)}</p>'
        '<dl class="legend">' + "".join(f"<div><dt>{m}</dt><dd>{esc(t)}</dd></div>" for m, t in legend) + "</dl>"
        '<div class="notes">' + "".join(f"<p>{esc(n.replace('`', ''))}</p>" for n in notes) + "</div></section>")


def _board_notes(board: Board, hardware: tuple[str, ...]) -> str:
    """What only this board has: refused and degenerate rows, its hardware where it differs, left-out smoke runs."""
    esc = html.escape
    lines = [*_refusals(board, str), *_degenerates(board, str)]
    if tuple(board.environments) != hardware:
        lines.append("Hardware: " + "; ".join(board.environments))
    if board.skipped_limited:
        lines.append(f"{board.skipped_limited} --limit result(s) left out.")
    if not lines:
        return ""
    return '<div class="board-notes">' + "".join(f"<p>{esc(line)}</p>" for line in lines) + "</div>"


# ---------------------------------------------------------------------------------------------- sections

def _board_section(board: Board, first: dict[str, str], hardware: tuple[str, ...]) -> str:
    esc = html.escape
    protocol = esc(board.protocol)
    about = PROTOCOL_TEXT.get(board.protocol, "")
    if BUDGET_PROTOCOL.fullmatch(board.protocol) and not about:
        base, count = board.protocol.rsplit("-n", 1)
        about = (f"{PROTOCOL_TEXT.get(base, base)} Label budget: {count} training labels per seed (stratified); see "
                 "the label-efficiency figures.")
    blocks = "".join(_task_block(board, t, first[t]) for t in board.tasks)
    return (f'<section class="protocol" id="protocol-{protocol}"><h2>Protocol: {protocol}</h2>'
            f'{f"<p class=about>{esc(about)}</p>" if about else ""}{_board_table(board)}{_board_notes(board, hardware)}'
            f'<section class="plots" id="plots-{protocol}">{blocks}</section></section>')


def _efficiency_section(boards: dict[str, Board]) -> str:
    """Label-efficiency figures of every real-data task with linear-nN boards, drawn from the boards on the page."""
    from radiobench.board.efficiency import curves_from_boards, inline_svg

    esc = html.escape
    tasks = list(dict.fromkeys(t for p, b in boards.items() if BUDGET_PROTOCOL.fullmatch(p) for t in b.tasks))
    figures = []
    for t in tasks:
        curves = curves_from_boards(boards, t)
        if curves is None:
            continue
        figures.append(f'<figure class="plot efficiency" data-task="{esc(t)}"><div class="scroll">{inline_svg(curves)}'
                       "</div><figcaption>"
                       f"{esc(t)}: the linear probe's {esc(curves.metric)} against the training labels per seed "
                       "(log scale; the last point is the whole training split). One colour per backbone family, "
                       "a marker and line style per member; bars: 95 % intervals (dashed: ± seed std); dotted red: "
                       "chance level.</figcaption></figure>")
    if not figures:
        return ""
    return ('<section id="efficiency"><h2>Label efficiency</h2><p>How each backbone\'s linear probe does with few '
            "labels, from the <code>linear-nN</code> boards below and the full <code>linear</code> board: a "
            "representation that needs fewer labels is worth more where labels are expensive.</p>"
            f'<div class="efficiency-figures">{"".join(figures)}</div></section>')


def _unevaluated_section(missing: dict[str, str] | None, training: dict[str, str]) -> str:
    esc = html.escape
    if missing:
        rows = "".join(f"<tr><td>{esc(b)}</td><td>{esc(training.get(b, '')) or '–'}</td><td>{esc(why)}</td></tr>"
                       for b, why in missing.items())
        listing = (f'<div class="table-wrap"><table class="missing"><thead><tr><th>backbone</th><th>training data</th>'
                   f"<th>why it has no result</th></tr></thead><tbody>{rows}</tbody></table></div>")
    elif missing is None:
        listing = "<p>Not known: this page was rendered without the registry of installed backbones.</p>"
    else:
        listing = "<p>None: every registered backbone has results on this page.</p>"
    return (f'<section id="unevaluated"><h2>Registered backbones without results</h2>'
            "<p>Not yet evaluated: backbones installed with radiobench that have no result on this page, and why "
            "where it is known. <code>radiobench weights download NAME</code> fetches weights on a networked machine; "
            "<code>radiobench run --backbone NAME --task all</code> then evaluates them.</p>"
            f"{listing}</section>")


def to_html_page(boards: dict[str, Board], missing: dict[str, str] | None = None,
                 training: dict[str, str] | None = None) -> str:
    """One self-contained page: the answer at a glance, how to read the boards (once), every protocol's board with
    each task's card beside its charts, the label-efficiency figures, and the backbones without results.

    ``missing``: registered backbone -> why it has no result, and ``training``: backbone -> its training data
    (the CLI asks the registry, :mod:`radiobench.run.installed`); None: not known (a one-board page).
    """
    esc = html.escape
    training = training or {}
    first, hardware = _first_boards(boards), _common_hardware(boards)
    sections = [_board_section(board, first, hardware) for board in boards.values()]
    budget = next((i for i, p in enumerate(boards) if BUDGET_PROTOCOL.fullmatch(p)), len(sections))
    efficiency = _efficiency_section(boards)
    sections.insert(budget, efficiency)
    nav = " ".join(f'<a href="#protocol-{esc(p)}">{esc(p)}</a>' for p in boards)
    extra = ' · <a href="#efficiency">label efficiency</a>' if efficiency else ""
    names = ", ".join(boards)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>radiobench leaderboard ({esc(names)})</title><style>{_STYLE}</style></head><body>"
        "<header><h1>radiobench leaderboard</h1>"
        "<p>Frozen vision backbones evaluated on radio-astronomy tasks. Each board compares backbones under one "
        "evaluation protocol, best first; real-data tasks come first, simulated ones after. Each task's card "
        "(what it measures, its data, which way its score goes, its chance level) sits beside its chart.</p>"
        f'<nav><a href="#glance">at a glance</a> · <a href="#reading">how to read</a> · boards: {nav}{extra} · '
        '<a href="#unevaluated">backbones without results</a></nav></header>'
        f'{_headline(boards, missing, training)}{_reading_notes(boards, hardware)}{"".join(sections)}'
        f"{_unevaluated_section(missing, training)}<script>{_SCRIPT}</script></body></html>\n"
    )


def to_html(board: Board) -> str:
    return to_html_page({board.protocol: board})


RENDERERS = {"md": to_markdown, "csv": to_csv, "html": to_html, "json": to_json}


def render(board: Board, fmt: str) -> str:
    return RENDERERS[fmt](board)
