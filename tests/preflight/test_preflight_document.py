"""Loading documents: .eml MIME parts and transfer encodings, header lines, HTML decoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketops.errors import MarketopsError
from marketops.ops.preflight import load_document, parse_document

FIXTURES = Path(__file__).parent / "fixtures"


def test_multipart_alternative_with_base64_html_and_qp_text() -> None:
    doc = load_document(FIXTURES / "good.eml")
    assert doc.kind == "eml" and doc.is_email
    assert doc.html is not None and doc.html == (FIXTURES / "good.html").read_text()
    # quoted-printable soft line break and =3D are decoded
    assert (
        "https://www.acme.example/reports?utm_source=newsletter&utm_medium=email"
        "&utm_campaign=2026-11_product_update"
    ) in (doc.text or "")
    # RFC 2047 encoded subject is decoded
    assert doc.header("subject")[0].value == "Three new reports — November update"


def test_header_lines_point_at_the_raw_message_folded_headers_included() -> None:
    doc = load_document(FIXTURES / "good.eml")
    assert doc.header("List-Unsubscribe")[0].line == 8
    assert doc.header("List-Unsubscribe-Post")[0].line == 10  # line 9 is the folded continuation
    assert "<mailto:unsubscribe@acme.example?subject=unsubscribe>" in (
        doc.header("List-Unsubscribe")[0].value
    )


def test_quoted_printable_html_with_utf8() -> None:
    doc = load_document(FIXTURES / "no_list_headers.eml")
    assert "Café Acme" in (doc.html or "")
    assert "utm_source=trial&amp;utm_medium=email" in (doc.html or "")


def test_single_part_html_email() -> None:
    doc = load_document(FIXTURES / "bad_list_headers.eml")
    assert doc.text is None and doc.html is not None and "preheader" in doc.html


def test_kind_is_sniffed_without_a_suffix() -> None:
    raw = (FIXTURES / "bad_list_headers.eml").read_bytes()
    assert parse_document(raw, "message").kind == "eml"
    assert parse_document(b"  <html><body>x</body></html>", "page").kind == "html"
    assert parse_document(b"<p>hi</p>", "page", page=True).purpose == "page"


def test_html_that_is_not_utf8_names_the_line() -> None:
    with pytest.raises(MarketopsError) as exc:
        parse_document(b"<p>ok</p>\n<p>caf\xe9</p>", "latin1.html", kind="html")
    assert exc.value.problems[0].where == "latin1.html:2"


def test_eml_without_a_body_is_an_error() -> None:
    raw = b"From: a@b.example\nSubject: x\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n"
    with pytest.raises(MarketopsError) as exc:
        parse_document(raw, "img.eml", kind="eml")
    assert "no text/html or text/plain body" in str(exc.value)


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(MarketopsError) as exc:
        load_document(tmp_path / "nope.html")
    assert exc.value.problems[0].where.endswith("nope.html")


def test_mime_defects_are_kept() -> None:
    raw = (
        b"From: a@b.example\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="zz"\n\n'
        b"--zz\nContent-Type: text/html\n\n<p>hi</p>\n"
    )  # no closing boundary
    doc = parse_document(raw, "cut.eml", kind="eml")
    assert any("CloseBoundaryNotFoundDefect" in d for d in doc.defects)


def test_mso_conditionals_parse_and_unparsable_markup_is_located() -> None:
    from marketops.ops.preflight import PreflightConfig, run_preflight

    ok = "<![if !mso]><p>x</p><![endif]><!--[if mso]><table><![endif]-->"
    assert run_preflight(parse_document(ok, "t.html"), PreflightConfig()).source == "t.html"
    with pytest.raises(MarketopsError) as exc:
        run_preflight(parse_document("<p>ok</p>\n  <![ bogus", "t.html"), PreflightConfig())
    assert exc.value.problems[0].where.startswith("t.html:2:")
