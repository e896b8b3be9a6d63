"""Phone answers shared between batch workers: a number parsed by one worker is not parsed
again by the other.

phonenumbers costs ~28 µs a (number, country) pair, and each worker of a million-row file met
most of the file's ~136,000 pairs: ~220,000 parses between two workers where ~140,000 do. Each
worker appends the answers it computed to its own file in the chunk's stage folder (one JSON
array a line) and, before a chunk, reads the lines its peers added since it last looked. The
answers come from the same pure function (`normalize.phone_e164`) in processes forked from
the same writer, so a learned answer is the answer this process would compute.
"""

from __future__ import annotations

import os
from itertools import islice

import orjson

from marketops.pipeline.normalize import learn_phones, phone_answers

PREFIX, SUFFIX = "phones-", ".jsonl"


class PhoneShare:
    """This process's side of the sharing, in one folder (the file's stage folder)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.mine = f"{PREFIX}{os.getpid()}{SUFFIX}"
        self.read_at: dict[str, int] = {}  # peer file -> bytes consumed
        self.sent = len(phone_answers())  # answers up to here are known or were learned

    def take(self) -> int:
        """Learn what the peers added since the last call; the answers learned."""
        learned = []
        for name in os.listdir(self.folder):
            if name == self.mine or not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
                continue
            at = self.read_at.get(name, 0)
            try:
                with open(os.path.join(self.folder, name), "rb") as fh:
                    fh.seek(at)
                    data = fh.read()
            except FileNotFoundError:
                continue
            end = data.rfind(b"\n") + 1  # a line still being written waits for the next call
            if end:
                learned += [orjson.loads(line) for line in data[:end].splitlines()]
                self.read_at[name] = at + end
        learn_phones(learned)
        self.sent = len(phone_answers())  # learned answers are not sent back
        return len(learned)

    def give(self) -> int:
        """Append the answers this process computed since the last call; how many."""
        answers = phone_answers()
        # the newest from the end (`islice` from `sent` walked every older answer first: ~70,000
        # a chunk by the end of a million rows)
        fresh = list(islice(reversed(answers.items()), len(answers) - self.sent))
        new = [orjson.dumps([phone, country, e164]) for (phone, country), e164 in reversed(fresh)]
        self.sent = len(answers)
        if new:
            with open(os.path.join(self.folder, self.mine), "ab") as fh:
                fh.write(b"\n".join(new) + b"\n")
        return len(new)
