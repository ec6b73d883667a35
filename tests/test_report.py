"""The weekly report: its numbers are the metrics', every output opens, the page fits a phone,
the e-mail arrives intact, and a team's own templates win over the built-in ones."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from lxml import html as lxml_html
from python_calamine import CalamineWorkbook

import xlcrm
from xlcrm.commands.report import report
from xlcrm.commands.update import tally_input, update
from xlcrm.metrics.baseline import baseline
from xlcrm.metrics.tally import RATES, STEPS, TallyInput, activity_weeks, by_dimension
from xlcrm.reporting.data import parse_week, report_week
from xlcrm.reporting.html import SECTION_TITLES
from xlcrm.reporting.mail import SmtpSettings

from ._helpers import TODAY

LAST_WEEK = dt.date(2026, 11, 16)  # the last full week before TODAY (a Monday)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    return xlcrm.demo(out, leads=600, seed=4, today=TODAY, run_report=False)


@pytest.fixture(scope="module")
def made(book: Path, tmp_path_factory: pytest.TempPathFactory) -> xlcrm.ReportResult:
    return report(book, tmp_path_factory.mktemp("out"), html=True, eml=True, today=TODAY)


def _grid(path: Path, sheet: str) -> list[list[object]]:
    wb = CalamineWorkbook.from_path(str(path))
    try:
        return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    finally:
        wb.close()


def _row(grid: list[list[object]], label: str) -> list[object]:
    return next(r for r in grid if r and r[0] == label)


def _expected_week(book: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The tally recomputed from the metrics functions, not from the report."""
    crm = xlcrm.load(book)
    weeks = activity_weeks(tally_input(crm), today=TODAY)
    base = baseline(weeks, crm.settings.options["baseline_from"],
                    crm.settings.options["baseline_to"])
    return weeks, base


def test_report_names_files_by_week(made: xlcrm.ReportResult) -> None:
    assert made.workbook.name == "demo-dealer-report-2026-W47.xlsx"
    assert made.html is not None and made.html.name == "demo-dealer-report-2026-W47.html"
    assert made.report.week_start == LAST_WEEK
    assert made.report.week_end == dt.date(2026, 11, 22)


def test_report_workbook_numbers_equal_metrics(book: Path, made: xlcrm.ReportResult) -> None:
    weeks, base = _expected_week(book)
    week, before = pd.Timestamp(LAST_WEEK), pd.Timestamp(LAST_WEEK) - pd.Timedelta(days=7)
    labels = made.report.labels
    grid = _grid(made.workbook, SECTION_TITLES["summary"])
    per_week = float(base["weeks"])
    for key in (*STEPS, *RATES):
        row = _row(grid, labels[key])
        assert row[1] == pytest.approx(float(weeks.at[week, key]), nan_ok=True), key
        assert row[2] == pytest.approx(float(weeks.at[before, key]), nan_ok=True), key
        expected_base = base[key] / per_week if key in STEPS else base[key]
        assert row[4] == pytest.approx(float(expected_base)), key
        if key in RATES:
            assert row[5] == pytest.approx((weeks.at[week, key] - base[key]) * 100), key
    # the funnel and pipeline: the weekly run's own funnel for the same day
    fun = update(book, today=TODAY, dry_run=True).funnel
    assert fun is not None
    assert _row(grid, "Open records")[1] == fun.totals["open_count"]
    stages = _grid(made.workbook, SECTION_TITLES["funnel"])
    for rec in fun.stages.itertuples(index=False):
        assert _row(stages, rec.stage)[1] == rec.count


def test_report_sources_are_the_last_four_weeks_leads(book: Path,
                                                      made: xlcrm.ReportResult) -> None:
    crm = xlcrm.load(book)
    steps = tally_input(crm).steps
    start = pd.Timestamp(LAST_WEEK) - pd.Timedelta(weeks=3)
    window = steps[(steps["lead"] >= start) & (steps["lead"] < pd.Timestamp(LAST_WEEK)
                                                + pd.Timedelta(days=7))]
    expected = by_dimension(TallyInput(window), "source")
    grid = _grid(made.workbook, SECTION_TITLES["sources"])
    for source, rec in expected.iterrows():
        row = _row(grid, source)
        assert row[1:6] == [float(rec[s]) for s in STEPS], source
    assert sum(r[1] for r in grid[5:5 + len(expected)]) == len(window)


def test_html_numbers_equal_the_workbook(book: Path, made: xlcrm.ReportResult) -> None:
    weeks, base = _expected_week(book)
    assert made.html is not None
    page = lxml_html.fromstring(made.html.read_text(encoding="utf-8"))
    week = pd.Timestamp(LAST_WEEK)
    for key in (*STEPS, *RATES):
        cells = page.xpath(f'//table[@class="summary"]//tr[@data-key="{key}"]/td')
        this_week = float(cells[1].get("data-value"))
        assert this_week == pytest.approx(float(weeks.at[week, key])), key
        shown = cells[1].text_content()
        value = float(weeks.at[week, key])
        assert shown == (f"{value:.1%}" if key in RATES else f"{value:,.0f}")
    for title in SECTION_TITLES.values():
        assert page.xpath(f'//h2[text()="{title}"]'), title
    reps = made.report.reps
    for rep, rec in reps.iterrows():
        row = page.xpath(f'//table[@class="reps"]//tr[@data-key="{rep}"]/td')
        assert float(row[1].get("data-value")) == rec["activities"]
        assert float(row[5].get("data-value")) == rec["overdue"]


def test_html_is_self_contained(made: xlcrm.ReportResult) -> None:
    assert made.html is not None
    text = made.html.read_text(encoding="utf-8")
    page = lxml_html.fromstring(text)
    assert not page.xpath("//script"), "the report must run no script"
    assert not page.xpath("//link[@rel='stylesheet'] | //img[@src] | //iframe")
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in text
    assert len(page.xpath("//svg")) >= 4  # funnel, trend, sources, lost reasons


def test_reps_count_activities_and_overdue_tasks_of_the_week(book: Path,
                                                             made: xlcrm.ReportResult) -> None:
    crm = xlcrm.load(book)
    acts = crm["activities"]
    start, end = pd.Timestamp(LAST_WEEK), pd.Timestamp(LAST_WEEK) + pd.Timedelta(days=7)
    in_week = acts[(acts["date"] >= start) & (acts["date"] < end)]
    assert made.report.reps["activities"].sum() == len(in_week)
    tasks = crm["tasks"]
    done = tasks["done"].fillna(False).astype(bool)
    late = (tasks["due_date"] < end) & ~(done & (tasks["done_date"].isna()
                                                  | (tasks["done_date"] < end)))
    assert made.report.reps["overdue"].sum() == int(late.sum())


def test_week_labels_cross_the_year_end() -> None:
    assert report_week(dt.date(2026, 12, 28)) == "2026-W53"
    assert report_week(dt.date(2027, 1, 4)) == "2027-W01"
    assert parse_week("2026-W53") == dt.date(2026, 12, 28)
    assert parse_week("2027W1") == dt.date(2027, 1, 4)
    # a team whose weeks start on Sunday: the week that holds that ISO week's Monday
    assert parse_week("2027-W01", "sunday") == dt.date(2027, 1, 3)
    assert report_week(dt.date(2027, 1, 3)) == "2027-W01"
    with pytest.raises(xlcrm.ReportError, match="2025 has weeks 1 to 52"):
        parse_week("2025-W53")
    with pytest.raises(xlcrm.ReportError, match="YYYY-Www"):
        parse_week("week 47")


def test_report_of_a_chosen_week(book: Path, tmp_path: Path) -> None:
    made = report(book, tmp_path, week="2026-W40", today=TODAY)
    assert made.report.week_start == dt.date(2026, 9, 28)
    weeks, _ = _expected_week(book)
    grid = _grid(made.workbook, SECTION_TITLES["summary"])
    assert _row(grid, "Leads")[1] == weeks.at[pd.Timestamp("2026-09-28"), "leads"]
    with pytest.raises(xlcrm.ReportError, match="has not begun"):
        report(book, tmp_path, week="2026-W50", today=TODAY)


def test_libreoffice_prints_every_section(book: Path, tmp_path: Path, soffice: str) -> None:
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) must be installed on CI; .ci/run does it")
        pytest.skip("pdftotext not installed")
    made = report(book, tmp_path, pdf=True, today=TODAY)
    assert made.pdf is not None and made.pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(made.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    for title in SECTION_TITLES.values():
        assert title in text, title
    # one sheet per section, each fitted to the page width
    assert len([p for p in pages if p.strip()]) == len(SECTION_TITLES)
    leads = int(made.report.summary.at["leads", "this_week"])
    assert any(line.split()[:2] == ["Leads", str(leads)] for line in pages[0].splitlines())


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium must be installed on CI; .ci/run installs it")
    pytest.skip("Chromium not installed")


_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{page}" style="width:{width}px;height:900px;border:0"></iframe>
<script>
const f = document.getElementById('f');
f.addEventListener('load', () => {{
  const doc = f.contentDocument, d = doc.documentElement;
  const charts = [...doc.querySelectorAll('svg.chart')].map(s => {{
    const r = s.getBoundingClientRect(); return [r.width, r.height, r.left, r.right]; }});
  const tables = [...doc.querySelectorAll('table')].map(t => t.getBoundingClientRect().right);
  document.body.setAttribute('data-layout', JSON.stringify({{
    scroll: d.scrollWidth, client: d.clientWidth, inner: f.contentWindow.innerWidth,
    charts, tables}}));
}});
</script></body></html>"""


@pytest.mark.parametrize("width", [375, 1280])
def test_html_fits_phone_and_desktop(made: xlcrm.ReportResult, width: int,
                                     tmp_path: Path) -> None:
    """Render the page in a frame of the given width; no sideways scrolling, every chart
    visible inside the page."""
    chromium = _chromium()
    assert made.html is not None
    probe = made.html.parent / f"probe-{width}.html"
    probe.write_text(_PROBE.format(page=made.html.name, width=width), encoding="utf-8")
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--allow-file-access-from-files", f"--window-size={width + 40},1000",
            "--virtual-time-budget=5000"]
    dom = subprocess.run([*base, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    found = lxml_html.fromstring(dom).xpath("//body/@data-layout")
    assert found, "Chromium did not lay the page out"
    layout = json.loads(found[0])
    assert layout["inner"] == width
    assert layout["scroll"] <= layout["client"], "the page scrolls sideways"
    assert len(layout["charts"]) >= 4
    for chart_width, height, left, right in layout["charts"]:
        assert chart_width > 200 and height > 80
        assert left >= 0 and right <= layout["client"] + 0.5
    assert max(layout["tables"]) <= layout["client"] + 0.5
    shot = tmp_path / f"report-{width}.png"
    subprocess.run([*base, f"--screenshot={shot}", probe.as_uri()], capture_output=True,
                   timeout=120, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_email_reaches_a_local_smtp_server_intact(book: Path, tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        made = report(book, tmp_path, html=True, today=TODAY, to=["owner@example.com"],
                      sender="reports@example.com",
                      smtp=SmtpSettings("127.0.0.1", port, starttls=False))
    finally:
        controller.stop()
    assert made.sent_to == ["owner@example.com"] and len(received) == 1
    msg = email.message_from_bytes(received[0], policy=email.policy.default)
    assert msg["To"] == "owner@example.com" and "week 47" in msg["Subject"]
    body = msg.get_body(preferencelist=("html",))
    assert body is not None and made.html is not None
    # SMTP carries text with CRLF line ends (RFC 5322); apart from that, byte for byte
    received_html = body.get_content().replace("\r\n", "\n")
    assert received_html.rstrip("\n") == made.html.read_text(encoding="utf-8").rstrip("\n")
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == made.workbook.name
    copy = tmp_path / "attached.xlsx"
    copy.write_bytes(attachment.get_content())
    assert copy.read_bytes() == made.workbook.read_bytes()
    assert _row(_grid(copy, SECTION_TITLES["summary"]), "Leads")[1] == \
        made.report.summary.at["leads", "this_week"]


# the test server's own deprecation notice, raised inside its thread, would kill its session
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")
def test_email_goes_over_starttls_with_the_password_from_the_environment(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loopback server that demands STARTTLS before AUTH, with a certificate from a
    throwaway authority; the password comes from XLCRM_SMTP_PASSWORD only."""
    import ssl

    import trustme
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    logins: list[tuple[bytes, bytes]] = []
    received: list[bytes] = []

    def authenticate(server, session, envelope, mechanism, data):  # noqa: ANN001, ANN202
        logins.append((data.login, data.password))
        ok = data.password == b"s3cret pass"
        return AuthResult(success=ok, handled=False)  # unhandled failure: the server says 535

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201
            received.append(envelope.original_content or envelope.content)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port,
                            tls_context=server_context, require_starttls=True,
                            authenticator=authenticate, auth_require_tls=True)
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", port, user="manager", context=client_context)
        monkeypatch.setenv("XLCRM_SMTP_PASSWORD", "wrong")
        with pytest.raises(xlcrm.ReportError, match="refused the login of manager"):
            report(book, tmp_path, today=TODAY, to=["owner@example.com"], smtp=settings)
        monkeypatch.setenv("XLCRM_SMTP_PASSWORD", "s3cret pass")
        made = report(book, tmp_path, today=TODAY, to=["owner@example.com"], smtp=settings)
    finally:
        controller.stop()
    # a refused login is tried once per mechanism the server offers (PLAIN, LOGIN)
    assert logins[-1] == (b"manager", b"s3cret pass")
    assert set(logins[:-1]) == {(b"manager", b"wrong")}
    assert made.sent_to == ["owner@example.com"] and len(received) == 1
    msg = email.message_from_bytes(received[0], policy=email.policy.default)
    assert next(msg.iter_attachments()).get_content() == made.workbook.read_bytes()
    assert b"s3cret" not in made.workbook.read_bytes()


def test_smtp_login_needs_the_password_variable(book: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XLCRM_SMTP_PASSWORD", raising=False)
    with pytest.raises(xlcrm.ReportError, match="XLCRM_SMTP_PASSWORD"):
        report(book, tmp_path, today=TODAY, to=["a@example.com"],
               smtp=SmtpSettings("127.0.0.1", 9, user="me"))


def test_eml_is_a_draft_without_recipients(made: xlcrm.ReportResult) -> None:
    assert made.eml is not None
    msg = email.message_from_bytes(made.eml.read_bytes(), policy=email.policy.default)
    assert msg["X-Unsent"] == "1" and msg["To"] is None
    assert msg.get_body(preferencelist=("plain",)) is not None
    assert [a.get_filename() for a in msg.iter_attachments()] == [made.workbook.name]


def test_user_templates_override_the_built_in_ones(book: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "style.css").write_text("body { background: #fdf6e3; } /* ours */",
                                    encoding="utf-8")
    made = report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)
    assert made.html is not None
    text = made.html.read_text(encoding="utf-8")
    assert "/* ours */" in text and "--brand" not in text
    assert "Weekly report, week 47 2026" in text  # report.html.j2 still the built-in one


def test_template_error_names_file_and_line(book: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html.j2").write_text("<h1>{{ report.title }}</h1>\n<p>\n{% if %}\n",
                                         encoding="utf-8")
    with pytest.raises(xlcrm.TemplateError, match=r"report\.html\.j2, line 3"):
        report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (mine / "report.html.j2").write_text("<h1>{{ report.title }}</h1>\n\n{{ report.nope }}\n",
                                         encoding="utf-8")
    with pytest.raises(xlcrm.TemplateError, match=r"report\.html\.j2, line 3: .*nope"):
        report(book, tmp_path / "out", html=True, templates=mine, today=TODAY)


def test_demo_ends_with_a_report_to_open(tmp_path: Path) -> None:
    path = xlcrm.demo(tmp_path, leads=150, seed=3, today=TODAY)
    assert (tmp_path / "demo-dealer-report-2026-W47.xlsx").exists()
    assert (tmp_path / "demo-dealer-report-2026-W47.html").exists()
    assert path.exists()


def test_b2b_report_has_deal_values_and_owners(tmp_path: Path) -> None:
    book = xlcrm.demo(tmp_path, preset="b2b", leads=400, seed=6, today=TODAY, run_report=False)
    made = report(book, tmp_path / "out", html=True, today=TODAY)
    fun = update(book, today=TODAY, dry_run=True).funnel
    assert fun is not None and fun.totals["open_value"] > 0
    assert made.report.pipeline["weighted_value"] == pytest.approx(fun.totals["weighted_value"])
    grid = _grid(made.workbook, SECTION_TITLES["summary"])
    assert _row(grid, "Weighted forecast")[1] == pytest.approx(fun.totals["weighted_value"])
    owners = set(xlcrm.load(book).settings.lists["reps"]["rep"])
    assert set(made.report.reps.index) <= owners | {"(none)"}
    assert made.report.reps["activities"].sum() > 0
    assert made.html is not None
    page = lxml_html.fromstring(made.html.read_text(encoding="utf-8"))
    kpi = page.xpath('//div[@data-key="weighted_value"]/@data-value')
    assert float(kpi[0]) == pytest.approx(fun.totals["weighted_value"])


def test_data_quality_counts_what_check_and_clean_find(book: Path,
                                                       made: xlcrm.ReportResult) -> None:
    from xlcrm.metrics.quality import find_groups, find_problems
    from xlcrm.metrics.validation import validate

    crm = xlcrm.load(book)
    groups, _ = find_groups(crm)
    expected = len(validate(crm, today=TODAY)) + len(find_problems(crm, today=TODAY)) + sum(
        len(g.ids) - 1 for g in groups)
    quality = made.report.quality
    assert quality["count"].sum() == expected
    duplicates = quality[quality["kind"].str.startswith("Probable duplicate")]
    assert int(duplicates["count"].sum()) == sum(len(g.ids) - 1 for g in groups) > 0
    assert len(made.report.worst) == min(10, len(made.report.worst)) > 0
