"""The report's e-mail as mail programs show it, and chart labels that never collide.

Mail programs draw no SVG (Gmail, Yahoo, Outlook), Outlook on Windows lays out with Word's
engine (no CSS grid or flex) and Gmail may drop a ``<style>`` block: the HTML part must lay out
with tables and inline styles, and show its charts as PNG images carried in the message.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from lxml import html as lxml_html
from PIL import Image

import xlcrm
from xlcrm.commands.report import report
from xlcrm.reporting.charts import label_every

from ._helpers import TODAY


@pytest.fixture(scope="module")
def made(demo_book: Callable[..., Path],
         tmp_path_factory: pytest.TempPathFactory) -> xlcrm.ReportResult:
    return report(demo_book("dealer", 600, 4, False), tmp_path_factory.mktemp("mail"),
                  html=True, eml=True, today=TODAY)


@pytest.fixture(scope="module")
def message(made: xlcrm.ReportResult) -> EmailMessage:
    assert made.eml is not None
    msg = email.message_from_bytes(made.eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _images(msg: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in msg.walk():
        cid = part.get("Content-ID")
        if cid and part.get_content_type() == "image/png":
            found[cid.strip("<>")] = part.get_content()
    return found


def test_mail_html_has_no_svg_grid_flex_or_style_block(message: EmailMessage) -> None:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    html = body.get_content()
    page = lxml_html.fromstring(html)
    assert not page.xpath("//svg | //style | //script | //link")
    assert not re.search(r"display\s*:\s*(grid|flex|inline-flex)", html)
    assert "class=" not in html  # every style inline: nothing depends on a stylesheet
    # laid out with tables, no wider than a mail reading pane
    widths = [int(w) for w in page.xpath("//table/@width") if w.isdigit()]
    assert widths and max(widths) <= 600


def test_every_chart_is_a_png_in_the_message_with_its_numbers_in_words(
        message: EmailMessage, made: xlcrm.ReportResult) -> None:
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    page = lxml_html.fromstring(body.get_content())
    images = _images(message)
    sources = page.xpath("//img/@src")
    assert len(sources) >= 4  # funnel, trend, by source, lost reasons
    for src in sources:
        assert src.startswith("cid:"), src
        data = images[src[4:]]  # the part the HTML names is in the message
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "PNG" and picture.size[0] == 1120  # 560 px shown, at 2x
        assert len(picture.convert("L").getcolors(maxcolors=1 << 16) or []) > 10  # not blank
    assert set(images) == {s[4:] for s in sources}  # no image left unreferenced
    leads = int(made.report.summary.at["leads", "this_week"])
    funnel = page.xpath("//img[starts-with(@src, 'cid:funnel')]/@alt")[0]
    assert funnel.startswith("What happened this week:")
    assert f"Leads {leads:,}" in funnel
    # the images are related to the HTML part, the workbook is the one attachment
    assert [a.get_filename() for a in message.iter_attachments()] == [made.workbook.name]


def test_plain_text_part_reads_alone(message: EmailMessage,
                                     made: xlcrm.ReportResult) -> None:
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    text = plain.get_content()
    assert "&amp;" not in text and "<" not in text
    leads = int(made.report.summary.at["leads", "this_week"])
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("Leads:"))
    assert line.split()[1] == f"{leads:,}"
    for title in ("SUMMARY", "FUNNEL AND FORECAST", "BY SOURCE", "BY SALESPERSON",
                  "DATA QUALITY"):
        assert title in text
    for source in made.report.sources.index:
        assert f"{source}:" in text


_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:600px;height:1200px;border:0"></iframe>
<script>
const f = document.getElementById('f');
f.addEventListener('load', () => {{
  const doc = f.contentDocument, d = doc.documentElement;
  const imgs = [...doc.images].map(i => [i.naturalWidth, i.getBoundingClientRect().width,
                                         i.getBoundingClientRect().right]);
  document.body.setAttribute('data-layout', JSON.stringify({{
    scroll: d.scrollWidth, client: d.clientWidth, imgs}}));
}});
</script></body></html>"""


def test_mail_at_600_px_without_style_blocks_shows_charts_and_tables(
        message: EmailMessage, tmp_path: Path) -> None:
    """The HTML part as a webmail shows it: <style> removed, images from the message."""
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser",
                                               "google-chrome") if shutil.which(n)), None)
    if chromium is None:
        pytest.fail("Chromium must be installed; .ci/run installs it")
    body = message.get_body(preferencelist=("html",))
    assert body is not None
    html = re.sub(r"<style.*?</style>", "", body.get_content(), flags=re.S)
    for cid, data in _images(message).items():
        name = re.sub(r"[^\w.-]", "_", cid) + ".png"
        (tmp_path / name).write_bytes(data)
        html = html.replace(f"cid:{cid}", name)
    (tmp_path / "mail.html").write_text(html, encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(_PROBE.format(page="mail.html"), encoding="utf-8")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--allow-file-access-from-files", "--window-size=640,1300",
                          "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    found = lxml_html.fromstring(dom).xpath("//body/@data-layout")
    assert found, "Chromium did not lay the mail out"
    layout = json.loads(found[0])
    assert layout["scroll"] <= layout["client"], "the mail scrolls sideways at 600 px"
    assert len(layout["imgs"]) >= 4
    for natural, shown, right in layout["imgs"]:
        assert natural == 1120, "an image did not load"
        assert 400 < shown <= 560 and right <= layout["client"]


def test_axis_labels_stand_clear_of_each_other() -> None:
    # twelve weekly labels of six characters over a 480-unit axis, 7.4 units a character:
    # labels 44.4 wide need 56.4 between centres; points are 480/11 = 43.6 apart, so every
    # second label, counted back from the last week
    weeks = [f"{d:02d} Nov" for d in range(1, 13)]
    assert label_every(weeks, 480, 7.4) == [1, 3, 5, 7, 9, 11]
    # ten labels 53.3 apart: still every second one
    assert label_every(weeks[:10], 480, 7.4) == [1, 3, 5, 7, 9]
    # eight labels 68.6 apart: every label fits
    assert label_every(weeks[:8], 480, 7.4) == list(range(8))
    # 25 labels 20 apart: every third (60 >= 56.4), the last one kept
    assert label_every([f"{d:02d} Nov" for d in range(25)], 480, 7.4) == list(range(0, 25, 3))
    assert label_every(["only"], 480, 7.4) == [0] and label_every([], 480, 7.4) == []


def test_page_trend_chart_labels_do_not_collide(made: xlcrm.ReportResult) -> None:
    assert made.html is not None
    page = lxml_html.fromstring(made.html.read_text(encoding="utf-8"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    charts = page.xpath("//svg") or page.xpath("//s:svg", namespaces=ns)
    axis = []
    for chart in charts:
        labels = [(float(t.get("x")), t.text or "") for t in chart.iter()
                  if str(t.tag).endswith("text") and t.get("text-anchor") == "middle"]
        if labels:
            axis = labels
    assert len(axis) >= 3, "the trend chart's week labels"
    for (x1, a), (x2, b) in zip(axis, axis[1:]):
        # half of each label's width at 13 px (at most 7.4 units a character) must fit
        assert x2 - x1 >= (len(a) + len(b)) / 2 * 7.4, (a, b)


def _english_phrases() -> set[str]:
    """The English report's words that Italian says otherwise, cut at placeholders."""
    from xlcrm.schema import load_locale

    english = dict(load_locale("en").sections["report"])
    italian = dict(load_locale("it").sections["report"])
    phrases = set()
    for key, value in english.items():
        if italian.get(key) == value:
            continue
        for piece in re.split(r"\{[^}]*\}", value):
            piece = piece.strip(" ():;.,")
            if len(piece) >= 6:
                phrases.add(piece)
    return phrases


def test_an_italian_workbook_gets_an_italian_report(demo_book: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    import zipfile

    from python_calamine import CalamineWorkbook

    book = xlcrm.demo(tmp_path / "it", preset="dealer", leads=300, seed=5, today=TODAY,
                      locale="it", run_report=False)
    made = report(book, tmp_path / "out", html=True, eml=True, today=TODAY)
    assert made.html is not None and made.eml is not None
    msg = email.message_from_bytes(made.eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    texts = {"page": lxml_html.fromstring(made.html.read_text(encoding="utf-8")).text_content()}
    for kind in ("html", "plain"):
        part = msg.get_body(preferencelist=(kind,))
        assert part is not None
        content = part.get_content()
        texts[f"mail {kind}"] = (lxml_html.fromstring(content).text_content()
                                 if kind == "html" else content)
    wb = CalamineWorkbook.from_path(str(made.workbook))
    cells = []
    for name in wb.sheet_names:
        cells.append(name)
        for row in wb.get_sheet_by_name(name).to_python():
            cells += [str(v) for v in row if isinstance(v, str)]
    with zipfile.ZipFile(made.workbook) as z:  # chart titles and series names
        cells += [z.read(n).decode("utf-8") for n in z.namelist() if "charts/chart" in n]
    texts["workbook"] = "\n".join(cells)
    for where, text in texts.items():
        found = sorted(p for p in _english_phrases()
                       if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text))
        assert not found, f"English in the Italian report's {where}: {found}"
    # written the Italian way: the title, a comma before decimals, the euro after the amount
    assert "Report settimanale, settimana 47 2026" in texts["page"]
    leads = int(made.report.summary.at["leads", "this_week"])
    rate = made.report.summary.at["contact_rate", "this_week"]
    assert f"{rate * 100:.1f}%".replace(".", ",") in texts["page"]
    assert "Riepilogo" in wb.sheet_names and "Per fonte" in wb.sheet_names
    line = next(ln for ln in texts["mail plain"].splitlines() if ln.strip().startswith("Lead:"))
    assert line.split()[1] == f"{leads:,}".replace(",", ".")
