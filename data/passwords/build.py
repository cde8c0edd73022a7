#!/usr/bin/env python3
"""Derives common.txt and words.txt (this folder) from published packages; Python 3 stdlib only.

Usage (see README.md for how the three archives are fetched):

    python3 data/passwords/build.py \
        zxcvbn-ts-language-common-4.1.3.tgz zxcvbn-ts-language-fr-4.1.2.tgz django-5.2.19-py3-none-any.whl

Each entry is written as its *key*, computed exactly as `key_char` / `fold` in
src/accounts/policy.rs compute it for a password: NFKD, lowercase, combining marks removed,
œ/æ/ß expanded, separators (white space, - _ . ' ’) removed, leetspeak folded
(0→o 1→i 3→e 4→a 5→s 7→t @→a $→s). Files are sorted by code point and deduplicated,
so the Rust side binary-searches them in place. If the Rust folding changes, change it here
too and rebuild.
"""

import gzip
import hashlib
import json
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss"}
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
SEPARATORS = set("-_.'’")


def fold(text):
    """NFKD, per-character lowercase, combining marks dropped, ligatures expanded."""
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        for low in ch.lower():
            if unicodedata.category(low).startswith("M"):
                continue
            out.append(LIGATURES.get(low, low))
    return "".join(out)


def key(text):
    """The lookup key of a list entry: folded, separators removed, leetspeak folded."""
    return "".join(LEET.get(c, c) for c in fold(text) if not is_separator(c))


def is_separator(c):
    """Rust's char::is_whitespace (Unicode White_Space: str.isspace() minus U+001C..U+001F) or - _ . ' ’."""
    return (c.isspace() and c not in "\x1c\x1d\x1e\x1f") or c in SEPARATORS


def npm_json(tgz, member):
    with tarfile.open(tgz) as tar:
        return json.load(tar.extractfile("package/src/" + member))


def django_list(wheel):
    with zipfile.ZipFile(wheel) as whl:
        data = gzip.decompress(whl.read("django/contrib/auth/common-passwords.txt.gz"))
    return data.decode("utf-8").splitlines()


def hand_list(name):
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def write(name, sources):
    keys = set()
    for label, entries in sources:
        before = len(keys)
        keys.update(k for k in map(key, entries) if k)
        print(f"{name}: {label}: {len(entries)} entries, {len(keys) - before} new keys")
    body = "".join(k + "\n" for k in sorted(keys))
    (HERE / name).write_text(body, encoding="utf-8")
    print(f"{name}: {len(keys)} keys, {len(body.encode())} bytes, longest {max(map(len, keys))} chars")


def main(common_tgz, fr_tgz, django_whl):
    for path in (common_tgz, fr_tgz, django_whl):
        print(f"sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()}  {Path(path).name}")
    write(
        "common.txt",
        [
            ("@zxcvbn-ts/language-common passwords.json", npm_json(common_tgz, "passwords.json")),
            ("django common-passwords.txt.gz", django_list(django_whl)),
            ("fr-passwords.txt (hand-written)", hand_list("fr-passwords.txt")),
        ],
    )
    write(
        "words.txt",
        [
            ("@zxcvbn-ts/language-fr commonWords.json", npm_json(fr_tgz, "commonWords.json")),
            ("@zxcvbn-ts/language-fr firstnames.json", npm_json(fr_tgz, "firstnames.json")),
            ("@zxcvbn-ts/language-fr lastnames.json", npm_json(fr_tgz, "lastnames.json")),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
