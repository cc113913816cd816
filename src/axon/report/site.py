"""``build``: the course's runs as a static site that opens from disk.

The site is plain files, movable as a folder and read with no server and no network:
``index.html`` lists every run (claims held, headline metrics, a thumbnail, duration) and
links to one page per run (``NAME.html``: figures, claims, metrics, curves, config). Each
run's figures are copied beside its page (``NAME/fig.png``); the training curves are drawn
by a small hand-written script shipped in this package (``static/report.js``, with
``report.css``) from the run's data, which is written into the page itself as a JSON
``<script>`` block: browsers refuse ``fetch()`` of ``file://`` URLs.

Every text from a record is escaped (``html.escape``; in the JSON block ``<``, ``>`` and
``&`` are written as ``\\u003c``...), so a record cannot inject markup. Every file is
written to a temporary name and then renamed over its target (``os.replace``), pages and
figures first and ``index.html`` last: a crash leaves the previous site or the new one,
never half an index.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import shutil
from collections.abc import Iterable
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ..files import atomic_write
from .charts import charts
from .records import VERDICTS, Run, find_runs, safe_figure

ASSETS = ("report.css", "report.js")
ASSET_DIR = "_assets"
#: How many metrics the index shows for each run, and the words that make a metric a
#: headline (those first, in the record's order, then the others).
HEADLINE = 3
HEADLINE_WORDS = ("accuracy", "bleu", "perplexity", "f1", "loss", "error", "precision")


def e(value: object) -> str:
    """``value`` as text, escaped for HTML (text and quoted attributes)."""
    return html.escape(str(value), quote=True)


def json_for_script(data: Any) -> str:
    """``data`` as JSON that is safe inside ``<script>``: no ``</script>`` or ``<!--``
    can appear, since ``<``, ``>`` and ``&`` are written as escapes JSON.parse reads."""
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))


def url(path: str) -> str:
    """A relative path as an escaped URL for ``href`` or ``src``."""
    return e(quote(path))


def slugs(runs: list[Run]) -> list[str]:
    """A file name for each run's page and figure folder: its folder's name, reduced to
    letters, digits, ``.``, ``_`` and ``-``, unique (case aside) and never ``index``."""
    taken = {"index", ASSET_DIR.lower()}
    out = []
    for run in runs:
        base = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name).strip("._-") or "run"
        slug, n = base, 1
        while slug.lower() in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug.lower())
        out.append(slug)
    return out


def number(value: Any, digits: int = 6) -> str:
    """A metric as text: ``digits`` significant digits, ``n/a`` for a missing value (and
    any other value as it reads in JSON)."""
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return value if isinstance(value, str) else json.dumps(value)


def duration(seconds: float | None) -> str:
    """``41.2 s``, ``3 min 12 s``, ``1 h 05 min``; ``unknown`` when not recorded."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def page(title: str, body: str, scripts: str = "") -> str:
    """A whole HTML page around ``body``."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="stylesheet" href="{ASSET_DIR}/report.css">
</head>
<body>
{body}
{scripts}</body>
</html>
"""


def status_badge(status: str) -> str:
    return f'<span class="badge status-{e(status)}">{e(status)}</span>'


def claim_counts(run: Run) -> str:
    parts = [
        f'<span class="count verdict-{verdict.replace(" ", "-")}">'
        f"{run.count(verdict)} {verdict}</span>"
        for verdict in VERDICTS
        if run.count(verdict) or verdict == "held"
    ]
    return f'<p class="claims">{" ".join(parts)}</p>'


def definitions(items: Iterable[tuple[str, str]], css: str = "") -> str:
    """A ``<dl>`` of (term, already escaped HTML) pairs."""
    rows = "".join(f"<dt>{e(term)}</dt><dd>{value}</dd>" for term, value in items)
    return f'<dl class="{css}">{rows}</dl>' if rows else ""


def value_text(value: Any) -> str:
    """A config or version value as escaped text: strings as they are, the rest as JSON."""
    return e(value if isinstance(value, str) else json.dumps(value))


# -- the index --------------------------------------------------------------------------


def headline(metrics: dict[str, Any]) -> list[tuple[str, Any]]:
    """The few metrics the index shows: results on the test set first (``test
    accuracy``), then other results (accuracy, BLEU, loss, ...), then the rest, each
    group in the record's order."""

    def rank(item: tuple[str, Any]) -> int:
        name = item[0].lower()
        result = any(word in name for word in HEADLINE_WORDS)
        return 0 if result and "test" in name else 1 if result else 2

    return sorted(metrics.items(), key=rank)[:HEADLINE]


def index_card(run: Run, slug: str, figures: list[str]) -> str:
    """The index's entry for one run; ``figures`` are its copied figures' site paths."""
    if figures:
        thumb = (
            f'<a class="thumb" href="{url(slug)}.html">'
            f'<img src="{url(figures[0])}" alt="{e(run.name)}: first figure"></a>'
        )
    else:
        thumb = f'<a class="thumb empty" href="{url(slug)}.html">no figure</a>'
    metrics = headline(run.metrics)
    return f"""<article class="card status-{e(run.status)}">
{thumb}
<h2><a href="{url(slug)}.html">{e(run.name)}</a> {status_badge(run.status)}</h2>
<p class="description">{e(run.description)}</p>
{claim_counts(run)}
{definitions(((k, e(number(v, 4))) for k, v in metrics), "metrics")}
<p class="duration">{e(duration(run.seconds))}</p>
</article>"""


def index_page(runs: list[Run], slugs: list[str], figures: dict[str, list[str]]) -> str:
    total = {s: sum(run.status == s for run in runs) for s in ("passed", "failed", "error")}
    summary = ", ".join(f"{n} {s}" for s, n in total.items() if n) or "no runs found"
    cards = "\n".join(index_card(r, s, figures[s]) for r, s in zip(runs, slugs, strict=True))
    if not runs:
        cards = (
            '<p class="empty">No run records were found: <code>axon run NAME</code> writes '
            "one under <code>runs/NAME</code>, <code>axon tour</code> runs them all.</p>"
        )
    built = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""<header>
<h1>The course's results</h1>
<p class="summary">{len(runs)} runs: {e(summary)}. Built {e(built)} by <code>axon report</code>.</p>
</header>
<main class="cards">
{cards}
</main>"""
    return page("axon: the course's results", body)


# -- a run's page -----------------------------------------------------------------------


def claims_table(run: Run) -> str:
    if not run.claims:
        return "<p>This run checked no claims.</p>"
    rows = "".join(
        f'<tr class="verdict-{claim.verdict.replace(" ", "-")}">'
        f'<td><span class="badge verdict-{claim.verdict.replace(" ", "-")}">'
        f"{e(claim.verdict)}</span></td><td>{e(claim.text)}</td>"
        f'<td class="note">{e(claim.note or "")}</td></tr>'
        for claim in run.claims
    )
    return f"<table><tr><th>verdict</th><th>claim</th><th>note</th></tr>{rows}</table>"


def table(header: tuple[str, str], items: Iterable[tuple[str, str]], css: str = "") -> str:
    """A two-column table of (name, already escaped HTML) rows; empty when no rows."""
    rows = "".join(f"<tr><td>{e(k)}</td><td>{v}</td></tr>" for k, v in items)
    head = f"<tr><th>{e(header[0])}</th><th>{e(header[1])}</th></tr>"
    return f'<table class="{css}">{head}{rows}</table>' if rows else ""


def section(title: str, content: str, id_: str) -> str:
    return f'<section id="{id_}"><h2>{e(title)}</h2>\n{content}\n</section>' if content else ""


def run_page(run: Run, figures: list[str]) -> str:
    """The page of one run; ``figures`` are its copied figures' site paths."""
    error = f'<p class="error">{e(run.error)}</p>' if run.error else ""
    figure_html = "\n".join(
        f'<figure><img src="{url(path)}" alt="{e(PurePosixPath(path).name)}">'
        f"<figcaption>{e(PurePosixPath(path).name)}</figcaption></figure>"
        for path in figures
    )
    chart_specs = charts(run.history)
    curves = (
        '<div class="charts" id="charts"></div>'
        "<noscript><p>The curves are drawn by JavaScript.</p></noscript>"
        if chart_specs
        else ""
    )
    facts = [
        ("status", status_badge(run.status)),
        ("command", f"<code>{e(run.command)}</code>" if run.command else "unknown"),
        ("started", e(run.started or "unknown")),
        ("duration", e(duration(run.seconds))),
        ("seed", e(run.seed if run.seed is not None else "unknown")),
        ("record", f"<code>{e(run.record)}</code>"),
    ]
    metrics = ((k, e(number(v))) for k, v in run.metrics.items())
    splits = ((k, e(f"{n:,}")) for k, n in (run.splits or {}).items())
    config = ((k, value_text(v)) for k, v in run.config.items())
    versions = ((k, value_text(v)) for k, v in run.versions.items())
    sections = [
        section("Claims", claims_table(run), "claims"),
        section("Metrics", table(("metric", "value"), metrics, "metrics"), "metrics"),
        section("Training curves", curves, "curves"),
        section("Figures", figure_html, "figures"),
        section("Run", definitions(facts, "facts"), "run"),
        section("Splits", table(("split", "examples"), splits), "splits"),
        section("Config", table(("option", "value"), config), "config"),
        section("Versions", table(("package", "version"), versions), "versions"),
    ]
    main = "\n".join(part for part in sections if part)
    body = f"""<nav><a href="index.html">&larr; every run</a></nav>
<header>
<h1>{e(run.name)} {status_badge(run.status)}</h1>
<p class="description">{e(run.description)}</p>
{error}
</header>
<main>
{main}
</main>"""
    scripts = ""
    if chart_specs:
        scripts = (
            f'<script type="application/json" id="axon-data">'
            f"{json_for_script({'charts': chart_specs})}</script>\n"
            f'<script src="{ASSET_DIR}/report.js"></script>\n'
        )
    return page(f"{run.name}: axon report", body, scripts)


# -- the whole site ---------------------------------------------------------------------


def copy_figures(run: Run, slug: str, out: Path) -> list[str]:
    """Copy the run's figures under ``out/slug/``; their paths relative to ``out``."""
    copied = []
    for figure in run.figures:
        source = safe_figure(run, figure)
        if source is not None:
            target = PurePosixPath(slug, *PurePosixPath(figure).parts)
            copy_file(source, out / target)
            copied.append(str(target))
    return copied


def build(runs: str | Path | Iterable[str | Path] = ("runs",), out: str | Path = "report") -> Path:
    """Write the static site of the runs recorded under ``runs`` into ``out``; return
    the path of its ``index.html``.

    Args:
        runs: run folders (each holding ``results.json``) and folders of run folders.
        out: the site's folder, created if needed; files of an earlier build are
            replaced.
    """
    paths = [runs] if isinstance(runs, str | Path) else list(runs)
    found = find_runs(paths)
    out = Path(out)
    (out / ASSET_DIR).mkdir(parents=True, exist_ok=True)
    static = resources.files(__package__) / "static"
    for asset in ASSETS:
        write_text(out / ASSET_DIR / asset, (static / asset).read_text(encoding="utf-8"))
    names = slugs(found)
    figures = {}
    for run, slug in zip(found, names, strict=True):
        figures[slug] = copy_figures(run, slug, out)
        write_text(out / f"{slug}.html", run_page(run, figures[slug]))
    index = out / "index.html"
    write_text(index, index_page(found, names, figures))
    return index
