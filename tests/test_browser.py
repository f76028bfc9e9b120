"""The web page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

The app runs under a real uvicorn server on 127.0.0.1 over a copy of the seed index (uploads
change it). One browser for the whole session; each test gets a fresh page and saves a
screenshot of what it saw under its tmp folder. Without Chromium or Playwright the tests skip
and say why (`make test` installs Chromium with apt-get when it can).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import served, variant_2020

from bench.synthetic import CJK_FONT, write_scanned_pdf
from core.config import Settings
from ingest.ocr import unavailable_reason
from service.http.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
MEDIATION_QUESTION = "金杨新村街道2019年的调解成功率是多少?"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium chromium-driver; `make test` does it "
                "when apt is available)", allow_module_level=True)


@pytest.fixture(scope="session")
def web_index(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed index that the browser tests may change (uploads, removals)."""
    target = tmp_path_factory.mktemp("web") / "index"
    shutil.copytree(seed_index, target)
    return target


@pytest.fixture(scope="session")
def base_url(web_index: Path) -> Iterator[str]:
    """The page in open local mode (REPORTQA_AUTH=off: every caller is an admin)."""
    with served(create_app(Settings(index_dir=web_index, auth="off"))) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: sync_api.Browser, base_url: str) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN", base_url=base_url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, f"errors in the browser console (script errors, failed loads, CSP refusals): {errors}"


def shot(page: sync_api.Page, folder: Path, name: str) -> Path:
    """A full-page screenshot under the test's tmp folder, once the page shows no rendering slip."""
    shown = page.inner_text("body")
    for slip in ("[object ", "undefined", "NaN", "null"):
        assert slip not in shown, f"{name}: the page shows {slip!r}"
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000
    return path


def ask(page: sync_api.Page, question: str) -> sync_api.Locator:
    """Type a question, send it, and return the answer card once it has arrived."""
    before = page.locator(".answer").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    card = page.locator(".answer").nth(before)
    sync_api.expect(card).not_to_have_class("answer pending", timeout=60_000)
    return card


def test_page_is_served_with_its_assets_and_no_external_urls(page: sync_api.Page, base_url: str) -> None:
    response = page.goto("/")
    assert response is not None and response.ok
    assert page.title() == "政府工作报告问答"
    html = page.content().replace("http://www.w3.org/2000/svg", "")  # the favicon's SVG namespace
    assert "http://" not in html.replace(base_url, "") and "https://" not in html
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.locator('script[type="module"][src="/static/main.js"]').count() == 1
    for asset in ("main.js", "api.js", "dom.js", "ask.js", "reader.js", "reports.js", "briefings.js", "app.css"):
        assert page.request.get(f"/static/{asset}").ok, asset


def test_ask_shows_the_figure_and_the_cited_passage(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    sync_api.expect(page.locator("#health")).to_contain_text("已收录 1 份报告")
    card = ask(page, MEDIATION_QUESTION)
    sync_api.expect(card.locator(".figure")).to_have_text("98.3 %")
    sync_api.expect(card.locator(".answer-text")).to_contain_text("98.3%")
    citation = card.locator(".cite").first
    sync_api.expect(citation).to_contain_text("(四)加强法治保障,推动法治政府建设")
    shot(page, tmp_path, "ask-answer")

    citation.click()
    reader = page.locator("#reader")
    sync_api.expect(reader).to_be_visible()
    mark = page.locator("#reader-text mark")
    sync_api.expect(mark).to_contain_text("调解成功率 98.3 %")
    sync_api.expect(mark).to_be_in_viewport()
    sync_api.expect(page.locator("#reader-path")).to_contain_text("一、主要做法和成效")
    sync_api.expect(page.locator("#reader-path")).to_contain_text("(四)加强法治保障")
    sync_api.expect(page.locator("#reader-path")).to_be_in_viewport()
    sync_api.expect(page.locator("#reader-title")).to_have_text("金杨新村街道关于2019年度法治政府建设情况的报告")
    sync_api.expect(page.locator("#reader-toc button.current")).to_have_text("(四)加强法治保障,推动法治政府建设")
    shot(page, tmp_path, "citation-reader")
    page.keyboard.press("Escape")
    sync_api.expect(reader).to_be_hidden()
    sync_api.expect(citation).to_be_focused()
    ref = card.locator("sup.ref")  # the [1] in the sentence opens the same passage, by keyboard too
    ref.focus()
    page.keyboard.press("Enter")
    sync_api.expect(mark).to_contain_text("调解成功率 98.3 %")


def test_answers_stream_and_follow_ups_build_on_the_conversation(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    with page.expect_response("**/v1/chat/completions") as streamed:
        ask(page, MEDIATION_QUESTION)
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    assert streamed.value.request.post_data_json["stream"] is True
    card = ask(page, "那2020年呢?")
    sync_api.expect(card.locator(".rewritten")).to_contain_text("金杨新村街道2020年的调解成功率")
    shot(page, tmp_path, "ask-follow-up")
    page.reload()  # the conversation survives a reload of the tab
    sync_api.expect(page.locator(".answer")).to_have_count(2)
    sync_api.expect(page.locator(".answer .figure").first).to_have_text("98.3 %")
    sync_api.expect(page.locator(".answer .rewritten")).to_contain_text("金杨新村街道2020年的调解成功率")
    page.click("#new-conversation")
    sync_api.expect(page.locator(".answer")).to_have_count(0)
    page.reload()
    sync_api.expect(page.locator(".answer")).to_have_count(0)


def test_api_key_is_kept_in_the_browser_and_sent_as_bearer(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    page.click("#key-button")
    page.fill("#key-input", "rqa_test_key")
    shot(page, tmp_path, "api-key-dialog")
    with page.expect_request("**/documents") as sent:
        page.click("#key-form button[value=save]")
    assert sent.value.headers["authorization"] == "Bearer rqa_test_key"
    assert page.evaluate("localStorage.getItem('reportqa.apiKey')") == "rqa_test_key"
    page.click("#key-button")
    with page.expect_request("**/documents") as sent:
        page.click("#key-form button[value=clear]")
    assert "authorization" not in sent.value.headers


def test_not_found_is_said_plainly(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    card = ask(page, "火星基地2019年建了多少个?")
    sync_api.expect(card).to_have_class("answer not-found")
    sync_api.expect(card.locator(".badge")).to_have_text("未找到答案")
    sync_api.expect(card.locator(".answer-text")).to_contain_text("没有找到")
    assert card.locator(".figure").count() == 0
    shot(page, tmp_path, "ask-not-found")


def test_filters_come_from_the_index_and_restrict_the_answer(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    issuer = page.locator("#filter-issuer option")
    sync_api.expect(issuer).to_have_text(["全部", "金杨新村街道"])
    sync_api.expect(page.locator("#filter-year option")).to_have_text(["全部", "2019"])
    page.select_option("#filter-issuer", "金杨新村街道")
    page.select_option("#filter-year", "2019")
    sync_api.expect(ask(page, MEDIATION_QUESTION).locator(".figure")).to_have_text("98.3 %")
    shot(page, tmp_path, "ask-filtered")


def test_reports_list_and_reading_by_section(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    page.click(".tabs button[data-tab=reports]")
    row = page.locator("#report-rows tr").first
    sync_api.expect(row).to_contain_text("金杨新村街道关于2019年度法治政府建设情况的报告")
    sync_api.expect(row).to_contain_text("浦金街〔2020〕2号")
    sync_api.expect(row.locator("td").nth(4)).to_have_text("29")
    shot(page, tmp_path, "reports")
    row.get_by_role("button", name="阅读").click()
    sync_api.expect(page.locator("#reader-text")).to_contain_text("浦东新区法治政府建设工作领导小组办公室")
    page.locator("#reader-toc button", has_text="四、下一步工作设想").click()
    sync_api.expect(page.locator("#reader-path")).to_have_text("四、下一步工作设想")
    text = page.locator("#reader-text")
    sync_api.expect(text).to_contain_text("(一)进一步夯实法治政府建设责任制")
    sync_api.expect(text).not_to_contain_text("主要负责人履行")
    shot(page, tmp_path, "report-section")


def test_phone_width_keeps_the_answer_and_passage_readable(browser: sync_api.Browser, base_url: str,
                                                           tmp_path: Path) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=base_url, is_mobile=True)
    page = context.new_page()
    try:
        page.goto("/")
        card = ask(page, MEDIATION_QUESTION)
        sync_api.expect(card.locator(".figure")).to_have_text("98.3 %")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width}px)"
        shot(page, tmp_path, "phone-answer")
        card.locator(".cite").first.click()
        sync_api.expect(page.locator("#reader-text mark")).to_be_in_viewport()
        sync_api.expect(page.locator("#reader-path")).to_be_in_viewport()
        shot(page, tmp_path, "phone-reader")
        page.click("#reader-close")
        for tab in ("reports", "briefings"):
            page.click(f".tabs button[data-tab={tab}]")
            sync_api.expect(page.locator(f"#tab-{tab}")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"the {tab} tab scrolls sideways at phone width ({width}px)"
            shot(page, tmp_path, f"phone-{tab}")
    finally:
        context.close()


def test_upload_a_report_ask_about_it_and_remove_it(page: sync_api.Page, seed_text: str, tmp_path: Path) -> None:
    report = tmp_path / "jinyang_2020_fazhi.txt"
    report.write_text(variant_2020(seed_text), encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    page.goto("/")
    page.click(".tabs button[data-tab=reports]")
    page.set_input_files("#upload-files", [str(report), str(empty)])
    page.click("#upload-form button[type=submit]")
    results = page.locator("#upload-results li")
    sync_api.expect(results).to_have_count(2, timeout=120_000)
    sync_api.expect(results.nth(0)).to_have_class("added")
    sync_api.expect(results.nth(0)).to_contain_text("jinyang_2020_fazhi.txt:已添加")
    sync_api.expect(results.nth(1)).to_have_class("failed")
    sync_api.expect(results.nth(1)).to_contain_text("empty file")
    rows = page.locator("#report-rows tr")
    sync_api.expect(rows).to_have_count(2)
    shot(page, tmp_path, "reports-uploaded")

    page.click(".tabs button[data-tab=ask]")
    sync_api.expect(page.locator("#filter-year option")).to_have_text(["全部", "2020", "2019"])
    card = ask(page, "金杨新村街道2020年的调解成功率是多少?")
    sync_api.expect(card.locator(".figure")).to_have_text("98.9 %")
    sync_api.expect(card.locator(".cite-src").first).to_contain_text("2020年度")
    shot(page, tmp_path, "ask-uploaded")

    page.click(".tabs button[data-tab=briefings]")
    page.check("#summary-docs input >> nth=0")
    page.check("#summary-docs input >> nth=1")
    page.click("#summary-submit")
    comparison = page.locator("#summary-result table.figures").first
    sync_api.expect(comparison.locator("tr", has_text="调解成功率")).to_contain_text("98.3 %", timeout=60_000)
    sync_api.expect(comparison.locator("tr", has_text="调解成功率")).to_contain_text("98.9 %")
    shot(page, tmp_path, "briefing-two-reports")

    page.click(".tabs button[data-tab=reports]")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="2020年度").get_by_role("button", name="删除").click()
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(rows.first).to_contain_text("2019年度")
    sync_api.expect(page.locator("#toast")).to_contain_text("已删除")


def test_a_scanned_upload_shows_its_pages_read_then_its_result(page: sync_api.Page, seed_text: str,
                                                                 tmp_path: Path) -> None:
    """A scan is read by OCR after the upload is answered: the page shows the pages read, then the result."""
    missing = unavailable_reason(Settings().tesseract_cmd) or (None if CJK_FONT.exists() else f"no font {CJK_FONT}")
    if missing:
        pytest.skip(f"OCR is unavailable here: {missing}")
    scan = tmp_path / "金杨2020扫描件.pdf"
    write_scanned_pdf(scan, variant_2020(seed_text), 100)
    page.goto("/")
    page.click(".tabs button[data-tab=reports]")
    page.set_input_files("#upload-files", [str(scan)])
    page.click("#upload-form button[type=submit]")
    progress = page.locator("#upload-progress")
    sync_api.expect(progress).to_contain_text(re.compile(r"正在识别扫描件:第 [0-3] / 4 页"), timeout=60_000)
    sync_api.expect(progress.locator("progress")).to_have_attribute("max", "4")
    shot(page, tmp_path, "upload-ocr-progress")
    result = page.locator("#upload-results li").first
    sync_api.expect(result).to_contain_text("金杨2020扫描件.pdf:已添加", timeout=180_000)
    sync_api.expect(result).to_have_class("added")
    shot(page, tmp_path, "upload-ocr-done")
    rows = page.locator("#report-rows tr")
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="2020年度").get_by_role("button", name="删除").click()
    sync_api.expect(rows).to_have_count(1)


def test_briefing_with_citations_and_downloads(page: sync_api.Page, tmp_path: Path) -> None:
    page.goto("/")
    page.click(".tabs button[data-tab=briefings]")
    page.check("#summary-docs input[type=checkbox] >> nth=0")
    page.check("#summary-form input[value=key_figures]")
    page.click("#summary-submit")
    summary = page.locator("#summary-result .summary")
    sync_api.expect(summary).to_contain_text("98.3 %", timeout=60_000)
    sync_api.expect(summary.locator("table.figures tr", has_text="98.3 %")).to_contain_text("调解成功率")
    shot(page, tmp_path, "briefing")
    summary.locator("table.figures tr", has_text="98.3 %").locator("sup.ref").click()
    sync_api.expect(page.locator("#reader-text mark")).to_contain_text("98.3 %")
    page.keyboard.press("Escape")

    with page.expect_download() as docx:
        page.click("#summary-result button[data-format=docx]")
    docx_path = tmp_path / docx.value.suggested_filename
    docx.value.save_as(docx_path)
    assert docx_path.suffix == ".docx" and docx_path.read_bytes()[:2] == b"PK"
    from docx import Document

    assert "98.3" in "\n".join(p.text for p in Document(str(docx_path)).paragraphs) + "".join(
        c.text for t in Document(str(docx_path)).tables for r in t.rows for c in r.cells)
    with page.expect_download() as md:
        page.click("#summary-result button[data-format=md]")
    md_path = tmp_path / md.value.suggested_filename
    md.value.save_as(md_path)
    assert md_path.suffix == ".md" and "98.3" in md_path.read_text(encoding="utf-8")


READER_KEY, ADMIN_KEY = "rqa_browser_reader", "rqa_browser_admin"


def test_with_auth_on_the_page_asks_for_a_key_and_says_what_a_reader_may_not_do(
        browser: sync_api.Browser, web_index: Path, tmp_path: Path) -> None:
    from service.http.keys import hash_key

    settings = Settings(index_dir=web_index, auth="on", state_dir=tmp_path / "state",
                        api_keys=[f"reader:reader:{hash_key(READER_KEY)}", f"boss:admin:{hash_key(ADMIN_KEY)}"])
    with served(create_app(settings)) as url:
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN", base_url=url)
        page = context.new_page()
        try:
            page.goto("/")
            sync_api.expect(page.locator("#health")).to_contain_text("需要 API 密钥")
            card = ask(page, MEDIATION_QUESTION)
            sync_api.expect(card).to_have_class("answer error")
            sync_api.expect(card).to_contain_text("需要有效的 API 密钥")
            page.click(".tabs button[data-tab=reports]")
            sync_api.expect(page.locator("#upload-panel")).to_be_hidden()
            sync_api.expect(page.locator("#admin-hint")).to_be_visible()
            sync_api.expect(page.locator("#report-rows")).to_contain_text("无法读取报告列表:需要有效的 API 密钥")
            shot(page, tmp_path, "auth-no-key")

            page.click("#key-button")
            page.fill("#key-input", READER_KEY)
            page.click("#key-form button[value=save]")
            row = page.locator("#report-rows tr").first
            sync_api.expect(row).to_contain_text("2019年度")
            # A reader's key: no upload, no removal, and the page says they are for admins.
            sync_api.expect(row.get_by_role("button", name="删除")).to_have_count(0)
            sync_api.expect(page.locator("#upload-panel")).to_be_hidden()
            sync_api.expect(page.locator("#admin-hint")).to_be_visible()
            page.click(".tabs button[data-tab=ask]")
            sync_api.expect(ask(page, MEDIATION_QUESTION).locator(".figure")).to_have_text("98.3 %")
            shot(page, tmp_path, "auth-reader")

            page.click("#key-button")
            page.fill("#key-input", ADMIN_KEY)
            page.click("#key-form button[value=save]")
            page.click(".tabs button[data-tab=reports]")
            sync_api.expect(page.locator("#upload-panel")).to_be_visible()
            sync_api.expect(page.locator("#report-rows tr").first.get_by_role("button", name="删除")).to_have_count(1)
            shot(page, tmp_path, "auth-admin")
        finally:
            context.close()


def test_a_pdf_citation_shows_its_page_beside_the_text_with_the_figure_boxed(
        browser: sync_api.Browser, pdf_index: Path, seed_pdf: Any, tmp_path: Path) -> None:
    with served(create_app(Settings(index_dir=pdf_index, auth="off"))) as url:
        context = browser.new_context(viewport=LAPTOP, locale="zh-CN", base_url=url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        try:
            page.goto("/")
            card = ask(page, MEDIATION_QUESTION)
            sync_api.expect(card.locator(".figure")).to_have_text("98.3 %")
            card.locator(".cite").first.click()
            sync_api.expect(page.locator("#reader-text mark")).to_contain_text("98.3 %")
            image = page.locator("#reader-page img")
            sync_api.expect(image).to_be_visible()
            sync_api.expect(page.locator("#reader-page-caption")).to_contain_text("原件第 2 页(共 3 页)")
            assert page.evaluate("document.querySelector('#reader-page img').naturalWidth") == pytest.approx(595 * 1.5, abs=1)
            shown, text = image.bounding_box(), page.locator("#reader-text").bounding_box()
            assert shown is not None and text is not None and shown["x"] >= text["x"] + text["width"]  # beside the text
            [printed] = [p for p in seed_pdf.printed if "98.3 %" in p.text]
            x0, x1 = printed.x_of("98.3 %")
            scale = shown["width"] / 595
            middle = shown["y"] + (printed.top + printed.bottom) / 2 * scale
            boxes = [b for b in (page.locator(".page-box").nth(k).bounding_box()
                                 for k in range(page.locator(".page-box").count())) if b is not None]
            assert any(b["x"] <= shown["x"] + x0 * scale + 1 and shown["x"] + x1 * scale - 1 <= b["x"] + b["width"]
                       and b["y"] <= middle <= b["y"] + b["height"] for b in boxes), boxes
            shot(page, tmp_path, "pdf-citation-page")
            page.locator("#reader-toc button").first.click()  # reading on: the boxed page goes away
            sync_api.expect(page.locator("#reader-page")).to_be_hidden()
        finally:
            context.close()
        assert not errors, f"errors in the browser console: {errors}"
