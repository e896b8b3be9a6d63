"""Batch workers share phone answers (`services.batch_phones`): what one process learns from
another is what it would have computed, nothing is sent back, and a half-written line waits."""

import multiprocessing
from pathlib import Path

import orjson

from marketops.pipeline import normalize
from marketops.pipeline.normalize import phone_answers, phone_e164
from marketops.services.batch_phones import PhoneShare

NUMBERS = [
    *((f"(415) 555-{k:04d}", "US") for k in range(0, 400, 7)),
    *((f"+44 20 7946 {k:04d}", None) for k in range(0, 300, 11)),
    *((f"030 1234{k:04d}", "DE") for k in range(50)),
    ("555-CALL-NOW", "US"),
    ("12", "GB"),
    ("+1 (000) 000-0000", None),
    ("020 7946 0958", None),  # national number, no country: no answer
]


def _peer(folder: str) -> None:
    share = PhoneShare(folder)
    share.take()
    for phone, country in NUMBERS:
        phone_e164(phone, country)
    share.give()


def test_answers_learned_from_a_peer_are_the_answers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(normalize, "_E164", {})  # this process has parsed nothing
    share = PhoneShare(str(tmp_path))
    child = multiprocessing.get_context("fork").Process(target=_peer, args=(str(tmp_path),))
    child.start()
    child.join()
    assert child.exitcode == 0
    assert share.take() == len(NUMBERS)
    learned = dict(phone_answers())
    assert len(learned) == len(NUMBERS)
    assert sum(v is not None for v in learned.values()) > len(NUMBERS) // 2
    for (phone, country), e164 in learned.items():
        assert e164 == normalize._parse_e164(phone, country), phone
    assert share.give() == 0  # learned answers are not sent back
    phone_e164("+33 1 42 68 53 00", None)  # computed here: sent
    assert share.give() == 1 and share.take() == 0


def test_a_line_still_being_written_waits(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(normalize, "_E164", {})
    share = PhoneShare(str(tmp_path))
    line = orjson.dumps(["020 7946 0958", "GB", "+442079460958"])
    peer = tmp_path / "phones-1.jsonl"
    peer.write_bytes(line[:10])
    assert share.take() == 0 and not phone_answers()
    peer.write_bytes(line + b"\n")
    assert share.take() == 1
    assert phone_answers() == {("020 7946 0958", "GB"): "+442079460958"}


def test_each_give_sends_exactly_the_new_answers_in_order(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(normalize, "_E164", {})
    share = PhoneShare(str(tmp_path))
    assert share.give() == 0
    sent = []
    for part in (NUMBERS[:5], NUMBERS[5:6], [], NUMBERS[6:]):
        for phone, country in part:
            phone_e164(phone, country)
        assert share.give() == len(part)
        sent += part
    lines = (tmp_path / share.mine).read_bytes().splitlines()
    assert [tuple(orjson.loads(x)[:2]) for x in lines] == [(p, c) for p, c in sent]
    assert [orjson.loads(x)[2] for x in lines] == [phone_answers()[k] for k in sent]


def test_phonenumbers_keeps_its_compiled_patterns_and_answers_as_without() -> None:
    """normalize turns phonenumbers' pattern cache on (when the release has it); the answers
    are those of a process that never turned it on."""
    import subprocess
    import sys

    import phonenumbers

    if not hasattr(phonenumbers, "enable_pattern_cache"):
        return
    from phonenumbers import re_util

    assert re_util._COMPILED_PATTERNS is not None
    here = [normalize._parse_e164(p, c) for p, c in NUMBERS]
    code = (  # the same function in a process where the cache was never turned on
        "import json, sys, phonenumbers\n"
        "phonenumbers.enable_pattern_cache = lambda: None\n"
        "from phonenumbers import re_util\n"
        "from marketops.pipeline.normalize import _parse_e164\n"
        "assert re_util._COMPILED_PATTERNS is None\n"
        "print(json.dumps([_parse_e164(p, c) for p, c in json.loads(sys.argv[1])]))\n"
    )
    plain = subprocess.run(
        [sys.executable, "-c", code, orjson.dumps(NUMBERS).decode()],
        capture_output=True,
        check=True,
        text=True,
    )
    assert orjson.loads(plain.stdout) == here and any(here)
