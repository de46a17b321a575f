#!/usr/bin/env python3
"""Baseline for `cargo bench --bench triage`: the same extraction as doorstroom's triage, written
with only Python's standard library (`email` for MIME), over the .eml files in DIR.

Per mail: parse (policy.default), top Authentication-Results (dmarc/dkim/spf), automated-mail
headers, text body (HTML to text when there is no plain part), quoted text cut off, keyword
matching, case tags, Dutch dates, candidate name and CIR, and every attachment decoded and read:
PDF content streams (zlib) for Tj/TJ strings, DOCX word/document.xml via zipfile.

    python3 benches/triage_baseline.py DIR
Prints mails_per_s= and mb_per_s= lines.
"""

import email
import html
import io
import os
import re
import sys
import time
import zipfile
import zlib
from email import policy

TAG = re.compile(r"(?i)\bVD[\s\-_/]?(\d{4})[\s\-_/]?(\d{1,6})\b")
DATE = re.compile(r"(?i)\b(\d{1,2})\s+(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|jan|feb|mrt|apr|jun|jul|aug|sep|okt|nov|dec)\.?(?:\s+(\d{4}))?|\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b")
QUOTE = re.compile(r"(?i)^\s*(op|on|am|le)\s.{0,160}\b(schreef|wrote|schrieb)\b|^\s*-{2,}\s*(original message|oorspronkelijk bericht)")
HEADER = re.compile(r"(?i)^\s*(van|from|von)\s?:")
SENT = re.compile(r"(?i)^\s*(verzonden|sent|gesendet|datum|date)\s?:")
NAME = re.compile(r"(?i:aanmelding|kandidaat-huurder)[ \t]+(?i:van[ \t]+)?([A-Z][\w'\-]+(?:[ \t]+(?:(?:van|de|el)[ \t]+)*[A-Z][\w'\-]+){0,3})")
CIR = re.compile(r"(?i)\b(?:cir|inschrijvingsnummer)(?:[\s\-]*(?:nummer|nr\.?))?\s*[:#]?\s*([A-Z0-9][A-Z0-9\-/.]{3,24}[A-Z0-9])")
TJ = re.compile(rb"\((.*?)(?<!\\)\)\s*Tj|\[(.*?)\]\s*TJ", re.S)
STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.S)
TAGS = re.compile(r"<[^>]+>")
WORDS = {
    "urgent": ["agressie", "agressief", "wapen", "mes", "bedreigd", "politie", "brand", "onveilig", "geweld", "onmiddellijk"],
    "concern": ["zorgen", "geen medewerking", "moeizaam", "schade", "overlast", "huurachterstal", "leefbaarheid"],
    "final": ["eindverslag", "stopzetting", "stopgezet", "einde begeleiding"],
    "contact": ["nieuwe woonbegeleider", "contactgegevens", "nieuwe contactpersoon"],
    "referral": ["aanmelding", "aanmelden", "kandidaat-huurder"],
    "discussion": ["bespreken", "agenderen", "op de agenda"],
}


def pdf_text(data):
    out = []
    for m in STREAM.finditer(data):
        d, content = m.group(1), m.group(2)
        if b"FlateDecode" in d:
            try:
                content = zlib.decompress(content)
            except zlib.error:
                continue
        elif b"/Filter" in d:
            continue
        for t in TJ.finditer(content):
            out.append((t.group(1) or t.group(2) or b"").decode("latin-1"))
    return "\n".join(out)


def docx_text(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            xml = z.read("word/document.xml").decode("utf-8", "replace")
    except Exception:
        return ""
    return html.unescape(TAGS.sub(" ", xml.replace("</w:p>", "\n")))


def kind_of(text):
    t = text.lower()
    if "eindverslag" in t:
        return "final_report"
    if "addendum" in t:
        return "addendum"
    if "sociaal verslag" in t:
        return "social_report"
    return None


def new_text(body):
    lines = body.splitlines()
    out = []
    for i, line in enumerate(lines):
        if QUOTE.match(line) or (HEADER.match(line) and any(SENT.match(l) for l in lines[i + 1:i + 5])):
            break
        if not line.lstrip().startswith(">"):
            out.append(line)
    return "\n".join(out)


def words(text, phrases):
    found = []
    for p in phrases:
        for m in re.finditer(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text):
            found.append(p)
            break
    return found


def triage(raw):
    msg = email.message_from_bytes(raw, policy=policy.default)
    ar = msg.get_all("Authentication-Results") or []
    results = {}
    if ar:
        for part in str(ar[0]).split(";")[1:]:
            kv = part.strip().split(None, 1)
            if kv and "=" in kv[0]:
                k, v = kv[0].split("=", 1)
                results[k.lower()] = v.lower()
    automated = bool(msg.get("Auto-Submitted")) or bool(msg.get("List-Unsubscribe"))
    sender = str(msg.get("From", ""))
    subject = str(msg.get("Subject", ""))
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        text = body.get_content()
        if body.get_content_type() == "text/html":
            text = html.unescape(TAGS.sub(" ", text))
    docs = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        name = part.get_filename() or ""
        content = ""
        if name.lower().endswith(".pdf"):
            content = pdf_text(data)
        elif name.lower().endswith(".docx"):
            content = docx_text(data)
        docs.append(kind_of(name) or kind_of(content[:400]) or "other")
    fresh = (subject + "\n" + new_text(text)).lower()
    found = {k: words(fresh, v) for k, v in WORDS.items()}
    tags = TAG.findall(subject + "\n" + text)
    dates = DATE.findall(text)
    name = NAME.search(text)
    cir = CIR.search(text)
    return (sender, results.get("dmarc"), automated, docs, found, tags, dates,
            name.group(1) if name else None, cir.group(1) if cir else None)


def main():
    folder = sys.argv[1]
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".eml"))
    mails = [open(f, "rb").read() for f in files]
    size = sum(len(m) for m in mails)
    start = time.perf_counter()
    for m in mails:
        triage(m)
    secs = time.perf_counter() - start
    print("baseline (Python email): %d mails, %.1f MB in %.2f s: %.0f mails/s, %.1f MB/s" % (
        len(mails), size / 1e6, secs, len(mails) / secs, size / 1e6 / secs))
    print("mails_per_s=%.1f" % (len(mails) / secs))
    print("mb_per_s=%.2f" % (size / 1e6 / secs))


if __name__ == "__main__":
    main()
