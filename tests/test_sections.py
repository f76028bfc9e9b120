"""The section tree follows the report's own headings."""

from __future__ import annotations

from ingest.sections import iter_sections, parse_sections


def test_seed_report_has_its_four_top_level_sections_and_children(seed_text: str) -> None:
    roots = parse_sections(seed_text)
    assert [s.heading for s in roots] == [
        "一、主要做法和成效",
        "二、法治政府建设中存在的主要问题",
        "三、主要负责人履行法治政府建设第一责任人职责情况",
        "四、下一步工作设想",
    ]
    assert [c.heading for c in roots[0].children] == [
        "(一)健全决策机制,完善制度管理",
        "(二)严格规范执法,提升执法水平",
        "(三)加强权力监督,规范权力运行",
        "(四)加强法治保障,推动法治政府建设",
    ]
    assert [len(s.children) for s in roots] == [4, 3, 3, 3]
    for _, section in iter_sections(roots):
        assert seed_text[section.char_start :].startswith(section.heading)
        assert section.char_start < section.body_start <= section.char_end


def test_full_width_brackets_spaces_and_all_heading_kinds() -> None:
    text = (
        "第一章 总则\n"
        "一、 总体情况\n"
        "（一）主动公开\n"
        "1．信息发布。全年发布信息 423 条。\n"
        "（1）网站栏目\n"
        "第三条 本办法自发布之日起施行。\n"
        "( 二 ) 依申请公开\n"
        "受理申请5件。\n"
    )
    roots = parse_sections(text)
    chapter = roots[0]
    assert chapter.heading == "第一章 总则"
    top = chapter.children[0]
    assert top.heading == "一、 总体情况"
    assert [c.heading for c in top.children] == ["（一）主动公开", "( 二 ) 依申请公开"]
    item = top.children[0].children[0]
    assert item.heading == "1．信息发布"
    assert item.children[0].heading == "（1）网站栏目"
    assert item.children[0].children[0].heading == "第三条 本办法自发布之日起施行"


def test_heading_running_into_its_first_sentence_is_split_at_the_full_stop() -> None:
    text = "一、全年工作\n(一)组织保障体系更加健全。2025年,全年召开法治建设专题会议4次。\n"
    sub = parse_sections(text)[0].children[0]
    assert sub.heading == "(一)组织保障体系更加健全"
    assert text[sub.body_start :].startswith("2025年")


def test_numbers_and_long_numbered_paragraphs_are_not_headings() -> None:
    text = (
        "2019.5 万元用于培训。\n"
        "12345市民热线按期完成率 99.6%。\n"
        "1.这是一段很长的编号段落它没有句号而且一直写下去超过了标题应有的长度所以不应被当作标题来处理对吧真的很长\n"
    )
    assert parse_sections(text) == []


def test_an_unnumbered_heading_line_between_paragraphs_opens_an_outer_section() -> None:
    text = (
        "2026年云岭市政府工作报告\n"
        "云岭市市长 李明\n"
        "各位代表：\n"
        "现在，我代表市人民政府向大会报告工作。\n"
        "2025年工作回顾\n"
        "过去一年，全市地区生产总值增长5.1%。\n"
        "（一）稳住经济大盘。新开工项目120个。\n"
        "2026年工作安排\n"
        "（一）扩大有效投资。新开工项目130个。\n"
        "云岭市人民政府\n"
        "2026年1月20日\n"
    )
    roots = parse_sections(text)
    assert [s.heading for s in roots] == ["2025年工作回顾", "2026年工作安排"]
    assert [c.heading for c in roots[0].children] == ["（一）稳住经济大盘"]
    assert [c.heading for c in roots[1].children] == ["（一）扩大有效投资"]
    # the title and author lines above the body, and the signature and date below it, are no headings
    assert text[roots[1].char_start : roots[1].char_end].endswith("2026年1月20日\n")


def test_a_running_header_or_a_page_number_line_is_no_heading() -> None:
    """A page's running header repeats; a line of dashes and digits says nothing."""
    text = (
        "云岭市政府工作报告\n"
        "现在，我代表市人民政府向大会报告工作。\n"
        "云岭市政府工作报告\n"
        "（一）稳住经济大盘。新开工项目120个。\n"
        "— 2 —\n"
        "云岭市政府工作报告\n"
        "（二）扩大有效投资。新开工项目130个。\n"
    )
    assert [s.heading for s in parse_sections(text)] == ["（一）稳住经济大盘", "（二）扩大有效投资"]
