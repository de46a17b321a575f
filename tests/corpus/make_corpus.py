#!/usr/bin/env python3
"""Writes the golden triage corpus: NNN-name.eml beside NNN-name.json (the expected subset of
`doorstroom triage --json`).

The mails imitate what real clients send (Outlook/Exchange with winmail.dat, Gmail, Thunderbird,
Apple Mail, Claws, case-management tools) with Dutch text; the expectations are written here by
hand, as a coordinator would judge each mail — never copied from doorstroom's output.
Binary attachments (PDF, DOCX, TNEF) are built here so the corpus is reproducible:

    python3 tests/corpus/make_corpus.py

Keys starting with "_" in a .json are test directives, not expectations:
  _config        "noauth": use doorstroom-noauth.toml (no authserv_id)
  _earlier_from  another fixture whose (body hash, Message-ID) the register holds as an earlier copy
"""

import base64
import io
import json
import os
import quopri
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MX = "mx.woonhaven.example"
SHARED = "versneldedoorstroom@woonhaven.example"


# ---------------------------------------------------------------- attachments

def pdf(lines, flate=False, truncate=False):
    ops = "BT /F1 11 Tf 72 760 Td 14 TL\n" + "".join(
        "(%s) Tj T*\n" % l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        for l in lines) + "ET"
    data = ops.encode("latin-1")
    if flate:
        data = zlib.compress(data)
        d = "<< /Length %d /Filter /FlateDecode >>" % len(data)
    else:
        d = "<< /Length %d >>" % len(data)
    out = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
           b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>\nendobj\n"
           b"4 0 obj\n" + d.encode() + b"\nstream\n" + data + b"\nendstream\nendobj\n"
           b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    if truncate:
        out = out[: len(out) // 2]
    return out


def pdf_scan():
    """A scanner's PDF: one JPEG image, no text at all."""
    img = bytes((i * 37) % 256 for i in range(1500))
    return (b"%PDF-1.4\n1 0 obj\n<< /Type /XObject /Subtype /Image /Width 10 /Height 10 "
            b"/Filter /DCTDecode /Length " + str(len(img)).encode() + b" >>\nstream\n" + img +
            b"\nendstream\nendobj\n%%EOF\n")


def docx(paragraphs):
    body = "".join('<w:p><w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % p
                   for p in paragraphs)
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body>%s</w:body></w:document>' % body)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        # A fixed timestamp keeps the corpus byte-for-byte reproducible.
        for name, data in (("[Content_Types].xml", '<?xml version="1.0"?><Types/>'), ("word/document.xml", xml)):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 17, 10, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def tnef(files, body="Zie bijlagen."):
    def rec(level, attr, data):
        return (struct.pack("<BII", level, attr, len(data)) + data +
                struct.pack("<H", sum(data) & 0xFFFF))
    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += rec(1, 0x0001800C, body.encode("cp1252") + b"\0")
    for name, data in files:
        out += rec(2, 0x00069002, b"\0" * 14)
        out += rec(2, 0x00018010, name.encode("cp1252") + b"\0")
        out += rec(2, 0x0006800F, data)
    return out


ADDENDUM = pdf(["Addendum versnelde doorstroom", "Ondertekend door kandidaat-huurder en begeleider"])
SOCIAL = docx(["Uitgebreid sociaal verslag", "Situatie van de kandidaat-huurder", "Woonbegeleiding: CAW"])
SOCIAL_PDF = pdf(["Uitgebreid sociaal verslag", "Gezinssituatie en inkomen"], flate=True)
FINAL = pdf(["Eindverslag woonbegeleiding", "Verloop van de begeleiding"], flate=True)


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def qp(text, charset="utf-8"):
    # Outlook declares iso-8859-1 and writes windows-1252 (the en dash of signatures).
    codec = "cp1252" if charset == "iso-8859-1" else charset
    return quopri.encodestring(text.encode(codec)).decode("ascii")


def att(ctype, name, data, disp_name=None, extra=""):
    disp_name = disp_name if disp_name is not None else 'filename="%s"' % name
    ctype_name = '; name="%s"' % name if name else ""
    return ("Content-Type: %s%s\nContent-Disposition: attachment; %s\n%s"
            "Content-Transfer-Encoding: base64\n\n%s\n" % (ctype, ctype_name, disp_name, extra, b64(data)))


def text_part(text, charset="utf-8", enc="quoted-printable", flowed=False):
    fl = "; format=flowed" if flowed else ""
    body = qp(text, charset) if enc == "quoted-printable" else text
    return "Content-Type: text/plain; charset=\"%s\"%s\nContent-Transfer-Encoding: %s\n\n%s\n" % (
        charset, fl, enc, body)


def html_part(html, charset="utf-8"):
    return "Content-Type: text/html; charset=\"%s\"\nContent-Transfer-Encoding: quoted-printable\n\n%s\n" % (
        charset, qp(html, charset))


def multipart(kind, boundary, parts, extra=""):
    out = "Content-Type: multipart/%s; boundary=\"%s\"%s\n\n" % (kind, boundary, extra)
    out += "This is a multi-part message in MIME format.\n\n"
    for p in parts:
        out += "--%s\n%s\n" % (boundary, p)
    out += "--%s--\n" % boundary
    return out


def html_of(text):
    paras = "".join("<p class=\"MsoNormal\">%s</p>" % (l or "&nbsp;") for l in text.split("\n"))
    return ("<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><head>"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            "<style><!-- p.MsoNormal {margin:0cm; font-family:\"Calibri\",sans-serif;} --></style>"
            "</head><body lang=\"NL-BE\"><div class=\"WordSection1\">%s</div></body></html>" % paras)


# ---------------------------------------------------------------- headers

def ar(domain, dmarc="pass", dkim="pass", spf="pass", server=MX):
    return ("Authentication-Results: %s;\n\tdkim=%s (2048-bit key; unprotected) header.d=%s;\n"
            "\tspf=%s smtp.mailfrom=%s;\n\tdmarc=%s (p=quarantine dis=none) header.from=%s\n" % (
                server, dkim, domain, spf, domain, dmarc, domain))


def received(host, ip="192.0.2.10", when="Tue, 17 Nov 2026 10:12:03 +0100"):
    return ("Received: from %s (%s [%s])\n\tby %s (Postfix) with ESMTPS id 4Xk2Lm0Qz1\n"
            "\tfor <%s>; %s (CET)\n" % (host, host, ip, MX, SHARED, when))


CLIENTS = {
    "outlook": ("X-Mailer: Microsoft Outlook 16.0\nThread-Index: AdtYk3Zb9Q2x1mJHRb6oZz8Gw5v0Ag==\n"
                "Content-Language: nl-be\nX-MS-Has-Attach: yes\nX-MS-TNEF-Correlator:\n"),
    "exchange": ("X-MS-Exchange-Organization-AuthAs: Anonymous\nX-MS-Has-Attach: yes\n"
                 "X-MS-TNEF-Correlator: <0DA1F6AB34C@EXCH01.caw-antwerpen.local>\n"
                 "X-Mailer: Microsoft Office Outlook 12.0\nThread-Index: Acm9XKhZ2aCwP4bPQ7m1\n"),
    "gmail": ("X-Gm-Message-State: AOJu0YzL8Qw2v1x\nX-Google-Smtp-Source: AGHT+IF3k9\n"),
    "thunderbird": "User-Agent: Mozilla Thunderbird\nContent-Language: nl\n",
    "apple": "X-Mailer: Apple Mail (2.3774.200.91.1.1)\n",
    "claws": "X-Mailer: Claws Mail 4.1.1 (GTK 3.24.38; x86_64-pc-linux-gnu)\n",
    "tool": "X-Mailer: Vesta Dossierbeheer 5.2\nX-Priority: 3\n",
}

MSGID = {
    "outlook": "<AM9PR07MB7%04dA1B2C3D4E5F6@AM9PR07MB7%04d.eurprd07.prod.outlook.com>",
    "exchange": "<0DA1F6AB34C%04d@EXCH01.caw-antwerpen.local>",
    "gmail": "<CAF%04dx9Jq2Vb=mZ4p8kL0s@mail.gmail.com>",
    "thunderbird": "<4c1e9a%04d-7b2d-4f1e-9c3a-2b5d1e0f%04d@%s>",
    "apple": "<6F3B2A1C-%04d-4D2E-9F8B-1A2B3C4D5E6F@%s>",
    "claws": "<20261117101203.%04d@%s>",
    "tool": "<vesta.%04d@%s>",
}


def msgid(client, n, domain):
    t = MSGID[client]
    if client in ("outlook",):
        return t % (n, n)
    if client == "exchange" or client == "gmail":
        return t % n
    if client == "thunderbird":
        return t % (n, n, domain)
    return t % (n, domain)


def mail(n, client, frm, subject, body_mime, to=SHARED, cc=None, date="Tue, 17 Nov 2026 10:12:00 +0100",
         auth=None, extra="", message_id=None, in_reply_to=None, references=None, relay=None):
    domain = frm.split("@")[-1].rstrip(">")
    h = ""
    h += "Return-Path: <%s>\n" % frm.split("<")[-1].rstrip(">")
    h += "Delivered-To: %s\n" % SHARED
    if auth is None:
        auth = ar(domain)
    h += auth
    h += received(relay or ("mail." + domain))
    h += CLIENTS[client]
    h += "From: %s\n" % frm
    h += "To: %s\n" % to
    if cc:
        h += "Cc: %s\n" % cc
    h += "Subject: %s\n" % subject
    h += "Date: %s\n" % date
    h += "Message-ID: %s\n" % (message_id or msgid(client, n, domain))
    if in_reply_to:
        h += "In-Reply-To: %s\n" % in_reply_to
        h += "References: %s\n" % (references or in_reply_to)
    h += extra
    h += "MIME-Version: 1.0\n"
    return h + body_mime


FIXTURES = []


def fixture(name, eml, expected):
    FIXTURES.append((name, eml, expected))


def exp(kind, partner=None, case_ref=None, documents=(), missing=(), must_auto_reply=False,
        notify=(), **more):
    e = {"kind": kind, "partner": partner, "case_ref": case_ref, "documents": list(documents),
         "missing": list(missing), "must_auto_reply": must_auto_reply, "notify": list(notify)}
    e.update(more)
    return e


CAW = "Els Wouters <els.wouters@caw-antwerpen.example>"
CAW2 = "Tom Verhoeven <tom.verhoeven@caw-antwerpen.example>"
OCMW = "Karin Dubois <karin.dubois@ocmw-antwerpen.example>"
BW = "Joke Hermans <joke.hermans@bw-kempen.example>"
AN = "An Peeters <an.peeters@woonhaven.example>"
SIG_CAW = "\nMet vriendelijke groeten,\n\nEls Wouters\nWoonbegeleider – Team Wonen\nCAW Antwerpen\nT 03 201 45 67\n"

# ---------------------------------------------------------------- referrals

t = ("Beste,\n\nHierbij de aanmelding voor versnelde doorstroom van mevrouw Anna De Smet.\n"
     "CIR-nummer: 2026-004512\n\nIn bijlage het ondertekend addendum en het uitgebreid sociaal verslag.\n" + SIG_CAW)
fixture("001-referral-outlook-complete", mail(1, "outlook", CAW, "Aanmelding versnelde doorstroom - Anna De Smet",
        multipart("mixed", "_004_AM9PR07MB7001_", [
            multipart("alternative", "_000_AM9PR07MB7001_", [text_part(t), html_part(html_of(t))]),
            att("application/pdf", "Addendum_AnnaDeSmet.pdf", ADDENDUM),
            att("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Sociaal verslag A De Smet.docx", SOCIAL),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Anna De Smet", cir="2026-004512"))

html = ("<div dir=\"ltr\"><div>Dag An,</div><div><br></div><div>Hierbij melden wij een kandidaat aan:</div>"
        "<table border=\"1\"><tr><td><b>Naam kandidaat</b></td><td>Mohamed Ait Ali</td></tr>"
        "<tr><td>Inschrijvingsnummer</td><td>CIR 2025-118833</td></tr>"
        "<tr><td>Gezinssamenstelling</td><td>alleenstaande</td></tr></table>"
        "<div><br></div><div>Addendum en sociaal verslag in bijlage.</div><div><br></div>"
        "<div>Groeten,<br>Tom</div></div>")
fixture("002-referral-gmail-html-table", mail(2, "gmail", CAW2, "Aanmelding kandidaat-huurder",
        multipart("mixed", "000000000000a1b2c3059f2e1d44", [
            html_part(html),
            att("application/pdf", "addendum ondertekend.pdf", ADDENDUM),
            att("application/pdf", "sociaal_verslag.pdf", SOCIAL_PDF),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Mohamed Ait Ali", cir="2025-118833"))

t = ("Beste collega's,\n\nHierbij de aanmelding van dhr. Pieter Van Damme voor versnelde \n"
     "doorstroom. Het sociaal verslag zit in bijlage; het addendum volgt zodra \nhet getekend is.\n\n"
     "Vriendelijke groeten,\nKarin Dubois\nOCMW Antwerpen\n")
fixture("003-referral-incomplete-thunderbird", mail(3, "thunderbird", OCMW, "Aanmelding Pieter Van Damme",
        multipart("mixed", "------------0aB1cD2eF3gH4iJ5kL6mN7oP", [
            text_part(t, flowed=True, enc="8bit"),
            att("application/pdf", "Sociaal verslag Van Damme.pdf", SOCIAL_PDF),
        ])),
        exp("referral_incomplete", "ocmw-antwerpen", None, ["social_report"], ["addendum"], True, ["coordinator"],
            candidate="Pieter Van Damme"))

t = "Beste,\n\nAanmelding van Sofie Lambrechts, CIR 2026-000871. Addendum en sociaal verslag in bijlage.\n" + SIG_CAW
fixture("004-referral-zero-byte-addendum", mail(4, "outlook", CAW, "Aanmelding Sofie Lambrechts",
        multipart("mixed", "_004_AM9PR07MB7004_", [
            text_part(t),
            "Content-Type: application/pdf; name=\"Addendum_Lambrechts.pdf\"\nContent-Disposition: attachment; filename=\"Addendum_Lambrechts.pdf\"; size=0\nContent-Transfer-Encoding: base64\n\n",
            att("application/pdf", "Sociaal_verslag_Lambrechts.pdf", SOCIAL_PDF),
        ])),
        exp("referral_incomplete", "caw-antwerpen", None, ["social_report"], ["addendum"], True, ["coordinator"],
            candidate="Sofie Lambrechts", cir="2026-000871"))

cut = b64(ADDENDUM)
cut = cut[: len(cut) // 2 - 1]
t = "Goedemiddag,\n\nIn bijlage de aanmelding van Bart Wuyts met addendum en sociaal verslag.\n" + SIG_CAW
fixture("005-referral-cut-off-base64", mail(5, "outlook", CAW, "Aanmelding Bart Wuyts",
        "Content-Type: multipart/mixed; boundary=\"_005_cut_\"\n\n--_005_cut_\n" + text_part(t) +
        "\n--_005_cut_\n" + att("application/pdf", "sociaal_verslag_wuyts.pdf", SOCIAL_PDF) +
        "\n--_005_cut_\nContent-Type: application/pdf; name=\"addendum_wuyts.pdf\"\n"
        "Content-Disposition: attachment; filename=\"addendum_wuyts.pdf\"\nContent-Transfer-Encoding: base64\n\n" + cut + "\n"),
        exp("referral_incomplete", "caw-antwerpen", None, ["social_report"], ["addendum"], True, ["coordinator"],
            candidate="Bart Wuyts"))

t = ("Dag An,\n\nAanmelding van Lotte Peeters. Het ondertekend addendum heb ik ingescand (scan0001.pdf), "
     "het sociaal verslag zit er ook bij.\n\nGroeten,\nTom\n")
fixture("006-referral-scan-judged-from-mail-text", mail(6, "gmail", CAW2, "aanmelding Lotte Peeters",
        multipart("mixed", "000000000000d4e5f6059f2e1d66", [
            multipart("alternative", "000000000000d4e5f6059f2e1d65", [text_part(t), html_part(html_of(t))]),
            att("application/pdf", "scan0001.pdf", pdf_scan()),
            att("application/pdf", "Sociaal verslag Lotte.pdf", SOCIAL_PDF),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Lotte Peeters"))

t = "Beste,\n\nAanmelding kandidaat-huurder Jonas Mertens. Documenten in bijlage.\n\nMvg,\nKarin\n"
fixture("007-referral-vague-names-judged-by-content", mail(7, "outlook", OCMW, "Aanmelding",
        multipart("mixed", "_004_AM9PR07MB7007_", [
            text_part(t),
            att("application/pdf", "scan0001.pdf", pdf(["ADDENDUM", "versnelde doorstroom - ondertekend"], flate=True)),
            att("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document.docx", SOCIAL),
        ])),
        exp("referral", "ocmw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Jonas Mertens"))

t = "Beste,\n\nHierbij de aanmelding van Ilse Verbruggen voor versnelde doorstroom.\nCIR: 2026-003300\n" + SIG_CAW
fixture("008-referral-winmail-dat", mail(8, "exchange", CAW, "Aanmelding Ilse Verbruggen",
        multipart("mixed", "----_=_NextPart_001_01DB2A1C.5F1E2D30", [
            text_part(t, charset="iso-8859-1"),
            "Content-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Disposition: attachment; filename=\"winmail.dat\"\n"
            "Content-Transfer-Encoding: base64\n\n" + b64(tnef([("Addendum Verbruggen.pdf", ADDENDUM),
                                                                 ("Sociaal verslag Verbruggen.docx", SOCIAL)])) + "\n",
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Ilse Verbruggen", cir="2026-003300"))

t = "Beste,\n\nAanmelding van Hanne Goossens, zie bijlagen.\n" + SIG_CAW
fixture("009-referral-rfc2231-split-filename", mail(9, "thunderbird", CAW, "Aanmelding Hanne Goossens",
        multipart("mixed", "------------x2231split", [
            text_part(t, flowed=True, enc="8bit"),
            att("application/pdf", "", SOCIAL_PDF,
                disp_name="\n filename*0*=utf-8''Uitgebreid%20sociaal%20verslag%20;\n filename*1*=Hanne%20Goossens.pdf"),
            att("application/pdf", "", ADDENDUM, disp_name="\n filename*=utf-8''Ondertekend%20addendum.pdf"),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Hanne Goossens"))

t = "Hallo,\n\nHierbij de aanmelding van Ruben Claessens. Addendum en verslag in bijlage.\n\nGroeten,\nJoke\n"
fixture("010-referral-rfc2047-inside-quotes", mail(10, "tool", BW, "Aanmelding Ruben Claessens",
        multipart("mixed", "=_vesta_010", [
            text_part(t),
            att("application/pdf", "=?UTF-8?B?QWRkZW5kdW0gb25kZXJ0ZWtlbmQucGRm?=", ADDENDUM,
                disp_name='filename="=?UTF-8?B?QWRkZW5kdW0gb25kZXJ0ZWtlbmQucGRm?="'),
            att("application/pdf", "=?iso-8859-1?Q?Sociaal_verslag_cli=EBnt.pdf?=", SOCIAL_PDF,
                disp_name='filename="=?iso-8859-1?Q?Sociaal_verslag_cli=EBnt.pdf?="'),
        ])),
        exp("referral", "bw-kempen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Ruben Claessens"))

inner = mail(111, "outlook", CAW, "Aanmelding Wim Jacobs",
             multipart("mixed", "_inner_011_", [
                 text_part("Beste,\n\nAanmelding van Wim Jacobs, CIR 2026-007711. Addendum en sociaal verslag in bijlage.\n" + SIG_CAW),
                 att("application/pdf", "addendum_jacobs.pdf", ADDENDUM),
                 att("application/pdf", "sociaal_verslag_jacobs.pdf", SOCIAL_PDF),
             ]), to="an.peeters@woonhaven.example")
t = "Ter info: deze aanmelding kwam bij mij toe in plaats van in de gedeelde mailbox.\n\nAn\n"
fixture("011-referral-forwarded-as-rfc822-by-staff", mail(11, "outlook", AN, "Doorst: Aanmelding Wim Jacobs",
        multipart("mixed", "_011_outer_", [
            text_part(t),
            "Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"Aanmelding Wim Jacobs.eml\"\n\n" + inner,
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Wim Jacobs", cir="2026-007711"))

t = ("Zur Info / ter info.\n\n"
     "Von: Karin Dubois <karin.dubois@ocmw-antwerpen.example>\nGesendet: Montag, 16. November 2026 16:40\n"
     "An: An Peeters <an.peeters@woonhaven.example>\nBetreff: Aanmelding Elif Yilmaz\n\n"
     "Beste An,\n\nAanmelding van Elif Yilmaz voor versnelde doorstroom. Addendum en sociaal verslag in bijlage.\n\n"
     "Vriendelijke groeten,\nKarin\n")
fixture("012-referral-forwarded-inline-german-outlook", mail(12, "outlook", AN, "WG: Aanmelding Elif Yilmaz",
        multipart("mixed", "_012_", [
            text_part(t),
            att("application/pdf", "Addendum Yilmaz.pdf", ADDENDUM),
            att("application/pdf", "Sociaal verslag Yilmaz.pdf", SOCIAL_PDF),
        ])),
        exp("referral", "ocmw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Elif Yilmaz"))

t = ("Beste,\n\nHierbij de aanmelding van mevrouw Chloé Dupré.\nDe cliënte staat ingeschreven, "
     "inschrijvingsnummer 2026-010101.\nHet addendum en het verslag stuur ik later door.\n\nMet vriendelijke groet,\nJoke Hermans\n")
fixture("013-referral-claws-latin9-no-attachments", mail(13, "claws", BW, "Aanmelding",
        "Content-Type: text/plain; charset=ISO-8859-15\nContent-Transfer-Encoding: 8bit\n\n" + t),
        exp("referral_incomplete", "bw-kempen", None, [], ["addendum", "social_report"], True, ["coordinator"],
            candidate="Chloé Dupré", cir="2026-010101"))

t = ("Beste,\n\nAanmelding van cliënt Noah Vermeiren, CIR 2026-020202.\nAddendum en sociaal verslag in bijlage.\n\nKarin\n")
fixture("014-referral-mislabelled-charset", mail(14, "tool", OCMW, "Aanmelding Noah Vermeiren",
        multipart("mixed", "=_vesta_014", [
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + t.encode("cp1252").decode("latin-1"),
            att("application/pdf", "addendum.pdf", ADDENDUM),
            att("application/pdf", "sociaal verslag.pdf", SOCIAL_PDF),
        ])),
        exp("referral", "ocmw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Noah Vermeiren", cir="2026-020202"))

t = "Beste,\n\nAanmelding van Kobe Wouters. In bijlage twee documenten.\n" + SIG_CAW
fixture("015-referral-docx-content-vague-name", mail(15, "outlook", CAW, "Aanmelding Kobe Wouters",
        multipart("mixed", "_015_", [
            text_part(t),
            att("application/pdf", "Addendum Kobe Wouters.pdf", ADDENDUM),
            att("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Document1.docx",
                docx(["UITGEBREID SOCIAAL VERSLAG", "Naam: Kobe Wouters"])),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Kobe Wouters"))

t = "Beste,\n\nAanmelding van Emma Jacobs met addendum en sociaal verslag.\n" + SIG_CAW
fixture("016-referral-truncated-pdf", mail(16, "outlook", CAW, "Aanmelding Emma Jacobs",
        multipart("mixed", "_016_", [
            text_part(t),
            att("application/pdf", "addendum_emma_jacobs.pdf", pdf(["Addendum"], truncate=True)),
            att("application/pdf", "sociaal_verslag_emma_jacobs.pdf", SOCIAL_PDF),
        ])),
        exp("referral_incomplete", "caw-antwerpen", None, ["social_report"], ["addendum"], True, ["coordinator"],
            candidate="Emma Jacobs"))

logo = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\0" * 64
t = "Dag,\n\nAanmelding van Lucas Maes. In bijlage het addendum en het sociaal verslag.\n\nGroetjes,\nJoke\n"
fixture("017-referral-apple-mail-inline-logo", mail(17, "apple", BW, "Aanmelding Lucas Maes",
        multipart("mixed", "Apple-Mail=_5B1E2D3C-017", [
            multipart("alternative", "Apple-Mail=_6C2F3E4D-017", [
                text_part(t),
                multipart("related", "Apple-Mail=_7D3A4F5E-017", [
                    html_part("<html><body><div>" + t.replace("\n", "<br>") + "<img src=\"cid:logo@bw\"></div></body></html>"),
                    "Content-Type: image/png; name=\"logo.png\"\nContent-Disposition: inline; filename=\"logo.png\"\n"
                    "Content-ID: <logo@bw>\nContent-Transfer-Encoding: base64\n\n" + b64(logo) + "\n",
                ]),
            ]),
            att("application/pdf", "Addendum Lucas Maes.pdf", ADDENDUM),
            att("application/pdf", "Sociaal verslag Lucas Maes.pdf", SOCIAL_PDF),
        ]), extra="Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.200.91.1.1\\))\n"),
        exp("referral", "bw-kempen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Lucas Maes"))

t = "Beste,\n\nAanmelding van Amir Haddad. Addendum, sociaal verslag en een kopie van de identiteitskaart in bijlage.\n" + SIG_CAW
fixture("018-referral-with-other-document", mail(18, "outlook", CAW, "Aanmelding Amir Haddad",
        multipart("mixed", "_018_", [
            text_part(t),
            att("application/pdf", "Addendum_Haddad.pdf", ADDENDUM),
            att("application/pdf", "Sociaal_verslag_Haddad.pdf", SOCIAL_PDF),
            att("image/jpeg", "identiteitskaart_haddad.jpg", b"\xff\xd8\xff\xe0" + b"\x11" * 200),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report", "other"], [], True, ["coordinator"],
            candidate="Amir Haddad"))

# ---------------------------------------------------------------- contact changes

t = ("Beste,\n\nVanaf 1 december neemt mijn collega de begeleiding van Jan Peeters (VD-2026-0001) over.\n"
     "De nieuwe woonbegeleider is Karel Mertens, karel.mertens@caw-antwerpen.example, tel. 0470 12 34 56.\n" + SIG_CAW)
fixture("019-contact-change-new-counsellor", mail(19, "outlook", CAW, "Nieuwe woonbegeleider VD-2026-0001",
        multipart("alternative", "_019_", [text_part(t), html_part(html_of(t))])),
        exp("contact_change", "caw-antwerpen", "VD-2026-0001", [], [], True, ["social_assistant"],
            candidate="Jan Peeters",
            new_contact={"name": "Karel Mertens", "email": "karel.mertens@caw-antwerpen.example", "phone": "0470 12 34 56"}))

t = ("Dag,\n\nIk ben vanaf deze week de nieuwe woonbegeleider van Maria Claes.\nU kan mij bereiken via dit adres.\n\n"
     "Met vriendelijke groeten,\nTom Verhoeven\nCAW Antwerpen\n0471 98 76 54\n")
fixture("020-contact-change-sender-is-new-contact", mail(20, "gmail", CAW2, "Nieuwe contactpersoon",
        multipart("alternative", "000000000000020", [text_part(t), html_part(html_of(t))])),
        exp("contact_change", "caw-antwerpen", "VD-2026-0004", [], [], True, ["social_assistant"],
            candidate="Maria Claes",
            new_contact={"name": "Tom Verhoeven", "email": "tom.verhoeven@caw-antwerpen.example", "phone": "0471 98 76 54"}))

t = ("Beste,\n\nMijn contactgegevens zijn gewijzigd voor het dossier VD-2026-0003 (Dirk Vermeulen).\n"
     "Nieuw telefoonnummer: 03 338 22 11.\n\nKarin Dubois\n")
fixture("021-contact-change-phone-claws", mail(21, "claws", OCMW, "Gewijzigde contactgegevens",
        "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" + t),
        exp("contact_change", "ocmw-antwerpen", "VD-2026-0003", [], [], True, ["social_assistant"],
            new_contact={"name": "Karin Dubois", "email": "karin.dubois@ocmw-antwerpen.example", "phone": "03 338 22 11"}))

# ---------------------------------------------------------------- concerns

t = ("Beste,\n\nDe begeleiding van Fatima El Amrani (VD-2026-0002) loopt moeizaam: er is geen medewerking, "
     "ze komt niet naar afspraken en de huurachterstal loopt op.\nKunnen we samen zitten?\n" + SIG_CAW)
fixture("022-concern-no-cooperation", mail(22, "outlook", CAW, "Zorgen begeleiding VD-2026-0002",
        multipart("alternative", "_022_", [text_part(t), html_part(html_of(t))])),
        exp("concern", "caw-antwerpen", "VD-2026-0002", [], [], True, ["coordinator", "social_assistant"],
            candidate="Fatima El Amrani"))

t = ("Hallo,\n\nBij het huisbezoek bij Dirk Vermeulen zagen we schade aan de woning:\nde deur van de badkamer is "
     "stuk en er is vochtschade door het niet verluchten.\n\nGroet,\nKarin\n")
fixture("023-concern-damage-by-name-thunderbird", mail(23, "thunderbird", OCMW, "Huisbezoek",
        text_part(t, flowed=True, enc="8bit")),
        exp("concern", "ocmw-antwerpen", "VD-2026-0003", [], [], True, ["coordinator", "social_assistant"],
            candidate="Dirk Vermeulen"))

html = ("<html><body><p>Beste,</p><p>De buren van <b>Youssef Benali</b> (VD-2026-0005) melden veel overlast: "
        "luide muziek &amp; afval in de gemeenschappelijke hal. De leefbaarheid in het blok staat onder druk.</p>"
        "<p>Met vriendelijke groeten,<br>Joke Hermans</p></body></html>")
fixture("024-concern-liveability-html-only", mail(24, "outlook", BW, "Overlast VD-2026-0005", html_part(html)),
        exp("concern", "bw-kempen", "VD-2026-0005", [], [], True, ["coordinator", "social_assistant"],
            candidate="Youssef Benali"))

t = ("Beste,\n\nGisteren werd Maria Claes (VD-2026-0004) agressief tegen haar buurvrouw en dreigde met een mes.\n"
     "Wij maken ons grote zorgen om de veiligheid van de buren.\n" + SIG_CAW)
fixture("025-urgent-aggression-knife", mail(25, "outlook", CAW, "Incident VD-2026-0004",
        multipart("alternative", "_025_", [text_part(t), html_part(html_of(t))])),
        exp("urgent_concern", "caw-antwerpen", "VD-2026-0004", [], [], True, ["coordinator", "social_assistant"],
            candidate="Maria Claes"))

t = ("Dag,\n\nVannacht was er brand in de keuken bij Kevin De Smet, de politie en brandweer waren ter plaatse.\n"
     "Hij verblijft nu tijdelijk bij zijn zus.\n\nTom\n")
fixture("026-urgent-fire-without-urgent-word", mail(26, "gmail", CAW2, "Kevin De Smet",
        multipart("alternative", "000000000000026", [text_part(t), html_part(html_of(t))])),
        exp("urgent_concern", "caw-antwerpen", "VD-2025-0019", [], [], True, ["coordinator", "social_assistant"],
            candidate="Kevin De Smet"))

t = ("Beste,\n\nGelieve onmiddellijk contact op te nemen: dhr. Vermeulen heeft zijn buurman bedreigd.\n"
     "Dossier VD-2026-0003.\n\nKarin Dubois\nOCMW Antwerpen\n")
fixture("027-urgent-onmiddellijk-threat", mail(27, "outlook", OCMW, "VD-2026-0003", text_part(t)),
        exp("urgent_concern", "ocmw-antwerpen", "VD-2026-0003", [], [], True, ["coordinator", "social_assistant"]))

t = ("Beste,\n\nBij Youssef Benali (VD-2026-0005) is er geen sprake van agressie, maar wel van overlast "
     "door bezoek tot laat in de nacht.\n\nJoke\n")
fixture("028-concern-negated-aggression", mail(28, "apple", BW, "Update VD-2026-0005",
        multipart("alternative", "Apple-Mail=_028", [text_part(t), html_part(html_of(t))])),
        exp("concern", "bw-kempen", "VD-2026-0005", [], [], True, ["coordinator", "social_assistant"]))

# ---------------------------------------------------------------- final reports

t = ("Beste,\n\nDe begeleiding van Kevin De Smet (VD-2025-0019) is afgerond. In bijlage het eindverslag.\n" + SIG_CAW)
fixture("029-final-report-attached", mail(29, "outlook", CAW, "Eindverslag VD-2025-0019",
        multipart("mixed", "_029_", [text_part(t), att("application/pdf", "Eindverslag De Smet.pdf", FINAL)])),
        exp("final_report", "caw-antwerpen", "VD-2025-0019", ["final_report"], [], True,
            ["coordinator", "social_assistant"]))

t = ("Beste,\n\nIn onderling overleg is er een stopzetting van de begeleiding van Dirk Vermeulen vanaf "
     "15 december 2026. Het eindverslag volgt.\n\nKarin Dubois\n")
fixture("030-final-stop-without-report", mail(30, "outlook", OCMW, "Stopzetting begeleiding", text_part(t)),
        exp("final_report", "ocmw-antwerpen", "VD-2026-0003", [], ["final_report"], True,
            ["coordinator", "social_assistant"]))

# ---------------------------------------------------------------- discussion requests

agenda_quote = ("> Beste partner,\n>\n> Hieronder de agenda van het structureel overleg van donderdag 26 november.\n"
                "> Te bespreken:\n> - VD-2026-0001 Jan Peeters: evaluatie na 4 maanden\n"
                "> - VD-2026-0002 Fatima El Amrani: geen medewerking, huurachterstal\n>\n"
                "> Wilt u een dossier laten bespreken, antwoord dan op deze mail.\n")
t = ("Beste An,\n\nGraag zouden we ook VD-2026-0004 (Maria Claes) bespreken op het overleg: ze komt afspraken niet "
     "na en weigert huisbezoeken.\n\nGroeten,\nEls\n\nOp do 19 nov. 2026 om 09:00 schreef Versnelde doorstroom <\n"
     + SHARED + ">:\n\n" + agenda_quote)
fixture("031-discussion-request-gmail-quoted-agenda", mail(31, "gmail", CAW,
        "Re: Agenda structureel overleg CAW Antwerpen - november 2026",
        multipart("alternative", "000000000000031", [text_part(t), html_part(html_of(t))]),
        in_reply_to="<vd-agenda-caw-antwerpen-2026-11@woonhaven.example>"),
        exp("discussion_request", "caw-antwerpen", "VD-2026-0004", [], [], True, ["coordinator"],
            candidate="Maria Claes"))

t = ("Dag An,\n\nKunnen we Fatima El Amrani ook op de agenda zetten? Ze is al drie weken niet bereikbaar.\n\n"
     "Met vriendelijke groeten,\nEls\n\n________________________________\n"
     "Van: Versnelde doorstroom <" + SHARED + ">\nVerzonden: donderdag 19 november 2026 9:00\n"
     "Aan: Team Wonen <teamwonen@caw-antwerpen.example>\nOnderwerp: Agenda structureel overleg CAW Antwerpen - november 2026\n\n"
     "Te bespreken:\n- VD-2026-0001 Jan Peeters: evaluatie na 4 maanden\n- VD-2025-0019 Kevin De Smet: eindevaluatie\n")
fixture("032-discussion-request-outlook-by-name", mail(32, "outlook", CAW,
        "RE: Agenda structureel overleg CAW Antwerpen - november 2026",
        multipart("alternative", "_032_", [text_part(t), html_part(html_of(t))]),
        in_reply_to="<vd-agenda-caw-antwerpen-2026-11@woonhaven.example>"),
        exp("discussion_request", "caw-antwerpen", "VD-2026-0002", [], [], True, ["coordinator"],
            candidate="Fatima El Amrani"))

# ---------------------------------------------------------------- lease starts (staff)

t = ("Dag collega's,\n\nDe huurovereenkomst van Dirk Vermeulen (VD-2026-0003) gaat in op 1 december 2026.\n\n"
     "Met vriendelijke groeten,\nAn Peeters\nDienst Bewonerscontacten\n")
fixture("033-lease-start-staff-outlook", mail(33, "outlook", AN, "Ingang huurovereenkomst VD-2026-0003",
        multipart("alternative", "_033_", [text_part(t), html_part(html_of(t))])),
        exp("lease_start", "ocmw-antwerpen", "VD-2026-0003", [], [], False, ["social_assistant"],
            candidate="Dirk Vermeulen", lease_start="2026-12-01"))

t = "Ter info: start huur Jan Peeters op 1-12-26, sleutels zijn overhandigd.\n\nAn\n"
fixture("034-lease-start-short-date-by-name", mail(34, "outlook", AN, "Jan Peeters", text_part(t)),
        exp("lease_start", "caw-antwerpen", "VD-2026-0001", [], [], False, ["social_assistant"],
            candidate="Jan Peeters", lease_start="2026-12-01"))

t = ("Beste,\n\nVoor VD-2026-0005: de ingangsdatum van het huurcontract is maandag 7 dec.\n\nAn\n")
fixture("035-lease-start-weekday-no-year", mail(35, "outlook", AN, "Huurcontract VD-2026-0005", text_part(t),
        date="Fri, 20 Nov 2026 14:05:00 +0100"),
        exp("lease_start", "bw-kempen", "VD-2026-0005", [], [], False, ["social_assistant"],
            lease_start="2026-12-07"))

# ---------------------------------------------------------------- meeting conclusions (staff)

t = ("Beste collega's,\n\nHierbij de conclusies van het structureel overleg van 26 november:\n\n"
     "- VD-2026-0001 (Jan Peeters): verlenging met 6 maanden.\n"
     "- VD-2026-0004 (Maria Claes): opnieuw bespreken op het volgende overleg.\n"
     "- VD-2025-0019 (Kevin De Smet): positief afsluiten.\n\nGraag uw bevestiging.\n\n"
     "Met vriendelijke groeten,\nAn Peeters\n")
fixture("036-conclusions-only-to-shared-mailbox", mail(36, "outlook", AN,
        "Conclusies structureel overleg CAW Antwerpen 26 november 2026", text_part(t),
        date="Fri, 27 Nov 2026 11:00:00 +0100"),
        exp("meeting_conclusions", "caw-antwerpen", None, [], [], False, ["social_assistant", "partner"],
            conclusions={"VD-2026-0001": "extend_6_months", "VD-2026-0004": "discuss_again",
                         "VD-2025-0019": "close_positive"}))

t = ("Beste Els,\n\nConclusies van het overleg:\nVD-2026-0002 Fatima El Amrani\n  verlenging 3 maanden, maandelijks opvolgen\n"
     "VD-2026-0006 Sara Wouters\n  opnieuw bespreken in januari\n\nGroeten,\nAn\n")
fixture("037-conclusions-partner-in-to", mail(37, "outlook", AN, "Conclusies overleg november", text_part(t),
        to="Team Wonen <teamwonen@caw-antwerpen.example>", cc=SHARED, date="Fri, 27 Nov 2026 11:30:00 +0100"),
        exp("meeting_conclusions", "caw-antwerpen", None, [], [], False, ["social_assistant"],
            conclusions={"VD-2026-0002": "extend_3_months", "VD-2026-0006": "discuss_again"}))

html = ("<html><body><p>Beste,</p><p>De conclusies van het structureel overleg met OCMW Antwerpen:</p>"
        "<table><tr><th>Dossier</th><th>Kandidaat</th><th>Besluit</th></tr>"
        "<tr><td>VD-2026-0003</td><td>Dirk Vermeulen</td><td>Verlenging met 3 maanden</td></tr>"
        "<tr><td>VD-2026-0008</td><td>Nathalie Jacobs</td><td>Stopzetting, negatief afgesloten</td></tr>"
        "</table><p>Met vriendelijke groeten,<br>An Peeters</p></body></html>")
fixture("038-conclusions-html-table", mail(38, "outlook", AN, "Conclusies structureel overleg OCMW", html_part(html),
        cc="Woonbegeleiding OCMW <woonbegeleiding@ocmw-antwerpen.example>", date="Fri, 27 Nov 2026 12:00:00 +0100"),
        exp("meeting_conclusions", "ocmw-antwerpen", None, [], [], False, ["social_assistant"],
            conclusions={"VD-2026-0003": "extend_3_months", "VD-2026-0008": "closed"}))

# ---------------------------------------------------------------- replies to a case

t = ("Beste,\n\nIn bijlage alsnog het ondertekend addendum.\n" + SIG_CAW +
     "\n-----Oorspronkelijk bericht-----\nVan: Versnelde doorstroom <" + SHARED + ">\n"
     "Onderwerp: Aanmelding onvolledig [VD-2026-0006]\n\nHet ondertekend addendum ontbreekt.\n")
fixture("039-reply-completes-missing-addendum", mail(39, "outlook", CAW,
        "RE: Aanmelding onvolledig: ondertekend addendum ontbreekt [VD-2026-0006]",
        multipart("mixed", "_039_", [text_part(t), att("application/pdf", "Addendum_Sara_Wouters_getekend.pdf", ADDENDUM)]),
        in_reply_to="<vd-missing-0006@woonhaven.example>"),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0006", ["addendum"], [], True, ["coordinator"],
            candidate="Sara Wouters"))

t = ("Dank u, ik noteer de afspraak voor VD-2026-0002.\n\nEls\n\n"
     "From: An Peeters <an.peeters@woonhaven.example>\nSent: Wednesday, November 18, 2026 3:12 PM\n"
     "To: Els Wouters <els.wouters@caw-antwerpen.example>\nSubject: Afspraak\n\n"
     "Er is nog steeds geen medewerking en veel overlast; kom je donderdag mee?\n")
fixture("040-reply-english-outlook-quote-ignored", mail(40, "outlook", CAW, "RE: Afspraak VD-2026-0002", text_part(t)),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0002", [], [], True, ["coordinator"]))

# ---------------------------------------------------------------- automated mail

t = ("Ik ben afwezig tot en met 30 november. Voor dringende zaken kunt u onmiddellijk contact opnemen met "
     "het onthaal van CAW Antwerpen via 03 201 00 00.\n")
fixture("041-auto-reply-outlook-dringend", mail(41, "outlook", CAW, "Automatisch antwoord: Uw aanmelding VD-2026-0002",
        text_part(t), extra="Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\nX-MS-Exchange-Inbox-Rules-Loop: els.wouters@caw-antwerpen.example\n"),
        exp("auto_reply", "caw-antwerpen", None, [], [], False, []))

t = "Bedankt voor uw mail. Ik ben met vakantie tot 1 december. Bij dringende vragen: bel de politie of 112.\n"
fixture("042-auto-reply-gmail-vacation", mail(42, "gmail", CAW2, "Re: Agenda structureel overleg", text_part(t),
        extra="Auto-Submitted: auto-replied\nPrecedence: bulk\n"),
        exp("auto_reply", "caw-antwerpen", None, [], [], False, []))

t = "Ich bin bis zum 30.11.2026 nicht im Büro. Ik ben afwezig tot 30 november.\n"
fixture("043-auto-reply-german-subject-only", mail(43, "outlook", OCMW, "Automatische Antwort: Conclusies overleg",
        text_part(t)),
        exp("auto_reply", "ocmw-antwerpen", None, [], [], False, []))

dsn = multipart("report", "4Xk2Lm0Qz1.1763370000/mx.woonhaven.example", [
    "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
    "This is the mail system at host mx.woonhaven.example.\n\nI'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients.\n\n<oud.adres@caw-antwerpen.example>: host mail.caw-antwerpen.example said:\n"
    "    550 5.1.1 User unknown\n",
    "Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mx.woonhaven.example\n\nFinal-Recipient: rfc822; oud.adres@caw-antwerpen.example\n"
    "Action: failed\nStatus: 5.1.1\n",
    "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
    "From: Versnelde doorstroom <" + SHARED + ">\nTo: oud.adres@caw-antwerpen.example\n"
    "Subject: Ontvangstbevestiging aanmelding\nMessage-ID: <vd-ack-0001@woonhaven.example>\n",
], extra="; report-type=delivery-status")
fixture("044-bounce-postfix-dsn", mail(44, "claws", "MAILER-DAEMON@mx.woonhaven.example (Mail Delivery System)",
        "Undelivered Mail Returned to Sender", dsn, auth="", extra="Auto-Submitted: auto-replied\n"),
        exp("bounce", None, "VD-2026-0001", [], [], False, ["coordinator"]))

orig = ("From: Versnelde doorstroom <" + SHARED + ">\nTo: karin.dubois@ocmw-antwerpen.example\n"
        "Subject: Uw aanmelding VD-2026-0002 werd ontvangen\nMessage-ID: <vd-ack-9999@woonhaven.example>\n"
        "Content-Type: text/plain; charset=utf-8\n\nBedankt voor uw aanmelding.\n")
ndr = multipart("report", "_ndr_045_", [
    html_part("<html><body><p><b>Uw bericht kan niet worden bezorgd bij de ontvanger.</b></p>"
              "<p>Het postvak is vol.</p></body></html>"),
    "Content-Type: message/delivery-status\n\nReporting-MTA: dns;AM9PR07MB7045.eurprd07.prod.outlook.com\n\n"
    "Final-Recipient: rfc822;karin.dubois@ocmw-antwerpen.example\nAction: failed\nStatus: 5.2.2\n",
    "Content-Type: message/rfc822\n\n" + orig,
], extra="; report-type=delivery-status")
fixture("045-bounce-exchange-ndr-dutch", mail(45, "outlook", "Microsoft Outlook <postmaster@woonhaven.example>",
        "Onbestelbaar: Uw aanmelding VD-2026-0002 werd ontvangen", ndr, auth=""),
        exp("bounce", None, "VD-2026-0002", [], [], False, ["coordinator"]))

t = ("Nieuwsbrief CAW Antwerpen - november 2026\n\nIn deze editie: wonen en welzijn, nieuwe vormingen, "
     "en een terugblik op onze studiedag.\n\nUitschrijven? Klik hier.\n")
fixture("046-bulk-newsletter-from-partner", mail(46, "tool", "CAW Antwerpen <nieuws@caw-antwerpen.example>",
        "Nieuwsbrief november: wonen en welzijn", text_part(t),
        extra="List-Unsubscribe: <https://caw-antwerpen.example/uitschrijven?id=123>\nList-Id: <nieuwsbrief.caw-antwerpen.example>\nPrecedence: bulk\n"),
        exp("bulk", "caw-antwerpen", None, [], [], False, []))

t = "Schrijf u in voor ons webinar 'Wonen met begeleiding' op 10 december.\n"
fixture("047-bulk-precedence-unknown-sender", mail(47, "tool", "Vorming Welzijn <info@welzijnsacademie.example>",
        "Uitnodiging: webinar wonen met begeleiding", text_part(t), extra="Precedence: bulk\n"),
        exp("bulk", None, None, [], [], False, []))

ics = ("BEGIN:VCALENDAR\nMETHOD:REPLY\nPRODID:Microsoft Exchange Server 2010\nVERSION:2.0\nBEGIN:VEVENT\n"
       "ATTENDEE;PARTSTAT=ACCEPTED:mailto:els.wouters@caw-antwerpen.example\nSUMMARY:Structureel overleg\n"
       "DTSTART:20261126T090000Z\nEND:VEVENT\nEND:VCALENDAR\n")
fixture("048-calendar-accepted", mail(48, "outlook", CAW, "Geaccepteerd: Structureel overleg CAW Antwerpen",
        multipart("alternative", "_048_", [
            text_part(""),
            "Content-Type: text/calendar; charset=\"utf-8\"; method=REPLY\nContent-Transfer-Encoding: 7bit\n\n" + ics,
        ])),
        exp("calendar_response", "caw-antwerpen", None, [], [], False, []))

# ---------------------------------------------------------------- spoofs and strangers

t = "Beste,\n\nDringende aanmelding: open het addendum via deze link: http://caw-antwerpen.example.evil.example/addendum\n"
fixture("049-spoof-dmarc-fail", mail(49, "outlook", CAW, "Dringend: aanmelding", text_part(t),
        auth=ar("caw-antwerpen.example", dmarc="fail", dkim="none", spf="fail"), relay="smtp.bulkmailer.example"),
        exp("spam_or_spoof", None, None, [], [], False, []))

t = "Beste,\n\nIn bijlage het sociaal verslag. Gelieve de factuur te betalen.\n"
forged = ("Authentication-Results: mx.woonhaven.example;\n\tdkim=none; spf=none smtp.mailfrom=caw-antwerpen.example;\n"
          "\tdmarc=none header.from=caw-antwerpen.example\n"
          "Received: from relay.evil.example by relay2.evil.example; Tue, 17 Nov 2026 10:11:00 +0100\n"
          "Authentication-Results: mx.woonhaven.example; dkim=pass header.d=caw-antwerpen.example;\n"
          "\tdmarc=pass header.from=caw-antwerpen.example\n")
fixture("050-spoof-forged-lower-results-ignored", mail(50, "gmail", CAW, "Sociaal verslag", text_part(t), auth=forged,
        relay="relay.evil.example"),
        exp("spam_or_spoof", None, None, [], [], False, []))

fixture("051-spoof-pass-for-another-domain", mail(51, "outlook", OCMW, "Aanmelding",
        text_part("Beste,\n\nAanmelding in bijlage, download via de link.\n"),
        auth=ar("ocmw-antwerpen-support.example").replace("header.from=ocmw-antwerpen-support.example",
                                                          "header.from=ocmw-antwerpen-support.example")),
        exp("spam_or_spoof", None, None, [], [], False, []))

fixture("052-spoof-only-foreign-results", mail(52, "outlook", OCMW, "Stopzetting begeleiding",
        text_part("Beste,\n\nDe begeleiding stopt. Bevestig via deze link.\n"),
        auth=ar("ocmw-antwerpen.example", server="mx.evil.example")),
        exp("spam_or_spoof", None, None, [], [], False, []))

t = ("Goedendag,\n\nIk sta al drie jaar op de wachtlijst voor een sociale woning. Kan ik via versnelde doorstroom "
     "sneller een woning krijgen? Mijn begeleider zei dat ik u moest mailen.\n\nMvg,\nSandra\n")
fixture("053-unknown-sender-private-person", mail(53, "gmail", "Sandra V <sandra.v1987@gmail.com>",
        "Vraag over versnelde doorstroom", text_part(t)),
        exp("unknown_sender", None, None, [], [], False, ["coordinator"]))

t = "Beste,\n\nHierbij de aanmelding van Jan Jansen. Addendum in bijlage.\n"
fixture("054-unknown-sender-lookalike-domain", mail(54, "outlook", "Els Wouters <els.wouters@caw-antwerpen-example.com>",
        "Aanmelding Jan Jansen", multipart("mixed", "_054_", [text_part(t), att("application/pdf", "addendum.pdf", ADDENDUM)])),
        exp("unknown_sender", None, None, ["addendum"], [], False, ["coordinator"]))

t = ("Beste,\n\nHoe staat het met het dossier VD-2026-0001 (Jan Peeters)? Hij vroeg ons om hulp bij zijn "
     "huurachterstal.\n\nKarin Dubois\n")
fixture("055-cross-partner-question", mail(55, "outlook", OCMW, "Vraag over VD-2026-0001", text_part(t)),
        exp("cross_partner", "ocmw-antwerpen", "VD-2026-0001", [], [], False, ["coordinator"]))

# ---------------------------------------------------------------- broken mail

body = ("Content-Type: multipart/mixed; boundary=\"----=_NextPart_000_0012_01DB2A1C\"\n\n"
        "------=_NextPart_000_0013_01DB2A1C\nContent-Type: text/plain; charset=\"iso-8859-1\"\n\n"
        "Beste,\n\nAanmelding van Tim Peeters, addendum in bijlage.\n\n"
        "------=_NextPart_000_0013_01DB2A1C\nContent-Type: application/pdf; name=\"addendum.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\n" + b64(ADDENDUM) + "\n------=_NextPart_000_0013_01DB2A1C--\n")
fixture("056-malformed-wrong-boundary", mail(56, "exchange", CAW, "Aanmelding Tim Peeters", body),
        exp("malformed", "caw-antwerpen", None, [], [], False, ["coordinator"]))

junk = "\x00\x01PK\x03\x04 garbage \xff\xfe not a mail at all\n\n\x1b[0m"
fixture("057-malformed-no-headers", junk, exp("malformed", None, None, [], [], False, ["coordinator"]))

FIXTURES_BY_NAME = {}


def later():
    # 058: the same mail as 022 delivered again through another relay.
    src = [f for f in FIXTURES if f[0] == "022-concern-no-cooperation"][0]
    eml = src[1].replace("Received: from mail.caw-antwerpen.example",
                         "Received: from backup-mx.woonhaven.example (backup-mx.woonhaven.example [198.51.100.7])\n"
                         "\tby mx.woonhaven.example (Postfix) with ESMTPS id 9Zz1Qq;\n\tTue, 17 Nov 2026 10:14:40 +0100\n"
                         "Received: from mail.caw-antwerpen.example", 1)
    fixture("058-duplicate-via-backup-mx", eml,
            dict(exp("duplicate", None, None, [], [], False, []), duplicate_of=msgid("outlook", 22, "").strip("<>"),
                 _earlier_from="022-concern-no-cooperation"))


later()

t = "Beste collega,\n\nOnze bankgegevens zijn gewijzigd. Gelieve de betaling naar het nieuwe rekeningnummer te doen.\n"
fixture("059-noauth-spoof-from-shared-mailbox", mail(59, "gmail", "Versnelde doorstroom <" + SHARED + ">",
        "Nieuwe bankgegevens", text_part(t), auth="",
        extra="").replace("Return-Path: <" + SHARED + ">", "Return-Path: <bounce-77@mailer.evil.example>"),
        dict(exp("spam_or_spoof", None, None, [], [], False, []), _config="noauth"))

t = ("Beste,\n\nDe begeleiding van Lotte... excuses, van Maria Claes (VD-2026-0004) loopt niet: "
     "er zijn klachten van de buren over vervuiling.\n\nTom\n")
fixture("060-noauth-partner-taken-as-given", mail(60, "thunderbird", CAW2, "VD-2026-0004", text_part(t, flowed=True, enc="8bit"),
        auth=""),
        dict(exp("concern", "caw-antwerpen", "VD-2026-0004", [], [], True, ["coordinator", "social_assistant"]),
             _config="noauth"))

t = ("Beste,\n\nEr zijn opnieuw klachten over overlast bij cliënt Dirk Vermeulen; de buren zijn het beu.\n\n"
     "Groeten,\nKarin Dubois\n")
fixture("061-concern-claws-latin1-8bit", mail(61, "claws", OCMW, "Overlast bij cliënt",
        "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: 8bit\n\n" + t),
        exp("concern", "ocmw-antwerpen", "VD-2026-0003", [], [], True, ["coordinator", "social_assistant"],
            candidate="Dirk Vermeulen"))

t = ("Bedankt voor de bevestiging. Ik breng de kandidaat op de hoogte en \nbezorg u later zijn nieuwe adres.\n\n"
     "Op 17-11-2026 om 09:30 schreef Versnelde doorstroom:\n> Wij hebben uw aanmelding goed ontvangen.\n")
fixture("062-reply-thunderbird-flowed-thread", mail(62, "thunderbird", CAW, "Re: Ontvangstbevestiging aanmelding",
        text_part(t, flowed=True, enc="8bit"), in_reply_to="<vd-ack-0001@woonhaven.example>"),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0001", [], [], True, ["coordinator"], candidate="Jan Peeters"))

t = "Beste,\n\nAanmelding van Ben Lauwers, addendum en sociaal verslag in bijlage.\n" + SIG_CAW
fixture("063-referral-broken-docx", mail(63, "outlook", CAW, "Aanmelding Ben Lauwers",
        multipart("mixed", "_063_", [
            text_part(t),
            att("application/pdf", "addendum_lauwers.pdf", ADDENDUM),
            att("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "sociaal_verslag_lauwers.docx",
                b"Dit is geen zip maar een kapot bestand"),
        ])),
        exp("referral_incomplete", "caw-antwerpen", None, ["addendum"], ["social_report"], True, ["coordinator"],
            candidate="Ben Lauwers"))

t = ("Hoi,\n\nBij Youssef Benali zagen we gisteren schade aan de keukenkastjes en een kapotte ruit.\n\n"
     "Els De Wit\nBeschermd Wonen Kempen\n")
fixture("064-partner-by-listed-gmail-address", mail(64, "gmail", "Els De Wit <els.dewit.bw@gmail.com>",
        "Schade woning", multipart("alternative", "000000000000064", [text_part(t), html_part(html_of(t))])),
        exp("concern", "bw-kempen", "VD-2026-0005", [], [], True, ["coordinator", "social_assistant"],
            candidate="Youssef Benali"))

t = ("Ter info, de mail van mijn collega.\n\nTom\n\n---------- Forwarded message ---------\n"
     "Van: Els Wouters <els.wouters@caw-antwerpen.example>\nDate: ma 23 nov. 2026 om 16:02\n"
     "Subject: Einde begeleiding Maria Claes\nTo: Tom Verhoeven <tom.verhoeven@caw-antwerpen.example>\n\n"
     "Tom,\n\nDe begeleiding van Maria Claes (VD-2026-0004) is beëindigd op 20 november 2026. Het eindverslag zit in bijlage.\n\nEls\n")
fixture("065-final-report-forwarded-inline-by-colleague", mail(65, "gmail", CAW2, "Fwd: Einde begeleiding Maria Claes",
        multipart("mixed", "000000000000065", [text_part(t), att("application/pdf", "eindverslag_claes.pdf", FINAL)]),
        date="Tue, 24 Nov 2026 08:30:00 +0100"),
        exp("final_report", "caw-antwerpen", "VD-2026-0004", ["final_report"], [], True,
            ["coordinator", "social_assistant"], candidate="Maria Claes"))

t = ("Dringend: de politie is net vertrokken bij Youssef Benali (VD-2026-0005) na een vechtpartij met geweld in de "
     "gang. Graag snel overleg.\n\nJoke\n\nVerstuurd vanaf mijn iPhone\n")
fixture("066-urgent-apple-iphone-police", mail(66, "apple", BW, "Incident", text_part(t)),
        exp("urgent_concern", "bw-kempen", "VD-2026-0005", [], [], True, ["coordinator", "social_assistant"]))

t = "Beste,\n\nAanmelding van Jana Segers. Addendum en sociaal verslag in bijlage.\n" + SIG_CAW
fixture("067-referral-rfc2231-latin1-filename", mail(67, "tool", CAW, "Aanmelding Jana Segers",
        multipart("mixed", "=_vesta_067", [
            text_part(t),
            att("application/pdf", "", SOCIAL_PDF, disp_name="filename*=iso-8859-1''Sociaal%20verslag%20cli%EBnte%20Segers.pdf"),
            att("application/pdf", "", ADDENDUM, disp_name="filename*=iso-8859-1''Addendum%20Segers.pdf"),
        ])),
        exp("referral", "caw-antwerpen", None, ["addendum", "social_report"], [], True, ["coordinator"],
            candidate="Jana Segers"))

t = "Beste,\n\nAanmelding van Stijn Aerts; het addendum in winmail.\n" + SIG_CAW
tn = tnef([("Addendum Aerts.pdf", ADDENDUM)])
fixture("068-referral-winmail-cut-off", mail(68, "exchange", CAW, "Aanmelding Stijn Aerts",
        multipart("mixed", "----_=_NextPart_068", [
            text_part(t, charset="iso-8859-1"),
            "Content-Type: application/ms-tnef; name=\"winmail.dat\"\nContent-Transfer-Encoding: base64\n\n"
            + b64(tn[: len(tn) - 120]) + "\n",
        ])),
        exp("referral_incomplete", "caw-antwerpen", None, [], ["addendum", "social_report"], True, ["coordinator"],
            candidate="Stijn Aerts"))


html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body>"
        "<div>Bedankt, ik kom donderdag mee voor VD-2026-0004.</div><div><br></div><div>Els</div>"
        "<hr style=\"display:inline-block;width:98%\" tabindex=\"-1\">"
        "<div id=\"divRplyFwdMsg\" dir=\"ltr\"><font face=\"Calibri, sans-serif\"><b>Van:</b> An Peeters "
        "&lt;an.peeters@woonhaven.example&gt;<br><b>Verzonden:</b> woensdag 18 november 2026 15:12<br>"
        "<b>Aan:</b> Els Wouters<br><b>Onderwerp:</b> Huisbezoek</font><div>&nbsp;</div></div>"
        "<div><p>Er is agressie gemeld en veel overlast; de politie kwam langs.</p></div></body></html>")
fixture("069-reply-html-only-outlook-quote-ignored", mail(69, "outlook", CAW, "RE: Huisbezoek", html_part(html)),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0004", [], [], True, ["coordinator"], candidate="Maria Claes"))

html = ("<div dir=\"ltr\">Prima, dat klopt voor Youssef Benali.<div><br></div><div>Joke</div></div><br>"
        "<div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">Op wo 18 nov 2026 om 15:12 schreef "
        "An Peeters &lt;<a href=\"mailto:an.peeters@woonhaven.example\">an.peeters@woonhaven.example</a>&gt;:<br></div>"
        "<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex\"><div>Klopt het dat er een brand was en dat "
        "hij de buren bedreigd heeft?</div></blockquote></div>")
fixture("070-reply-html-only-gmail-blockquote-ignored", mail(70, "gmail", BW, "Re: Vraag VD-2026-0005", html_part(html)),
        exp("reply_to_case", "bw-kempen", "VD-2026-0005", [], [], True, ["coordinator"], candidate="Youssef Benali"))

# ---------------------------------------------------------------- preventive guidance (002)

BRAM = "Bram Janssens <bram.janssens@woonhaven.example>"
SIG_BRAM = "\nMet vriendelijke groeten,\n\nBram Janssens\nSociaal assistent – Woonhaven Antwerpen\n"
REQ_ID = "<pwb-request-0071@woonhaven.example>"

t = ("Beste Els,\n\nGraag vragen wij preventieve woonbegeleiding voor onderstaande huurder.\n\n"
     "Huurder: Rik Smolders\nAdres: Lange Lobroekstraat 12 bus 3, 2060 Antwerpen\n\n"
     "Probleem: huurachterstal van vier maanden en klachten over het onderhoud van de woning.\n"
     "Reeds gezette stappen: twee aanmaningen, een huisbezoek door de sociale dienst, doorverwijzing naar "
     "het OCMW voor budgetbegeleiding (niet opgevolgd).\n"
     "Vraag: kunnen jullie een begeleiding opstarten om een uithuiszetting te vermijden?\n" + SIG_BRAM)
fixture("071-preventive-request-staff-to-partner-shared-in-cc",
        mail(71, "outlook", BRAM, "Vraag preventieve woonbegeleiding - Rik Smolders", text_part(t),
             to="Els Wouters <els.wouters@caw-antwerpen.example>", cc=SHARED, message_id=REQ_ID),
        exp("preventive_request", "caw-antwerpen", None, [], [], True, ["coordinator"], candidate="Rik Smolders"))

t = ("Dag Bram,\n\nNa een eerste huisbezoek nemen wij de begeleiding op voor Marc Verbeke (VD-2026-0009). "
     "Ik ben zijn woonbegeleider.\n" + SIG_CAW +
     "\n-----Oorspronkelijk bericht-----\nVan: Bram Janssens\nGraag preventieve woonbegeleiding voor Marc Verbeke.\n")
fixture("072-preventive-taken-on-by-partner",
        mail(72, "outlook", CAW, "RE: Vraag preventieve woonbegeleiding - Marc Verbeke", text_part(t),
             to=BRAM, cc=SHARED, in_reply_to="<pwb-request-0009@woonhaven.example>",
             date="Mon, 23 Nov 2026 09:05:00 +0100"),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0009", [], [], True, ["coordinator"], candidate="Marc Verbeke"))

t = ("Beste,\n\nVoor Nadia Bouzid (VD-2026-0010) kunnen we de begeleiding niet opstarten. Motivering: mevrouw "
     "heeft al een lopende budgetbegeleiding bij het OCMW met dezelfde doelen, en een tweede begeleiding "
     "zou dubbel werk zijn. We stellen voor de bestaande begeleiding te versterken.\n" + SIG_CAW)
fixture("073-preventive-declined-with-motivation",
        mail(73, "gmail", CAW, "Re: Vraag preventieve woonbegeleiding VD-2026-0010", text_part(t),
             to=BRAM, cc=SHARED, date="Mon, 23 Nov 2026 11:40:00 +0100"),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0010", [], [], True, ["coordinator"], candidate="Nadia Bouzid"))

t = ("Beste,\n\nHieronder het handelingsplan van Marc Verbeke (VD-2026-0009), afgesproken met de huurder:\n"
     "- afbetalingsplan voor de huurachterstal naleven (maandelijks 50 euro extra)\n"
     "- de woning elke week poetsen, huisbezoek om de twee weken\n"
     "- opnieuw contact opnemen met zijn dochter\n"
     "- een opleiding volgen bij de VDAB\n" + SIG_CAW)
fixture("074-preventive-action-plan-with-goals-beyond-housing",
        mail(74, "thunderbird", CAW, "Handelingsplan Marc Verbeke", text_part(t),
             to=BRAM, cc=SHARED, date="Fri, 4 Dec 2026 14:20:00 +0100"),
        exp("reply_to_case", "caw-antwerpen", "VD-2026-0009", [], [], True, ["coordinator"], candidate="Marc Verbeke"))

t = ("Beste Els,\n\nBij Linda Hermans loopt opnieuw een huurachterstal op (drie maanden). Dit is een herval na "
     "de begeleiding in dossier VD-2025-0030, die in het voorjaar werd afgesloten. Kunnen jullie de preventieve "
     "woonbegeleiding heropstarten?\n" + SIG_BRAM)
fixture("075-preventive-relapse-names-the-closed-case",
        mail(75, "outlook", BRAM, "Herval: preventieve woonbegeleiding Linda Hermans", text_part(t),
             to="Els Wouters <els.wouters@caw-antwerpen.example>", cc=SHARED,
             date="Tue, 8 Dec 2026 10:00:00 +0100"),
        exp("preventive_request", "caw-antwerpen", "VD-2025-0030", [], [], True, ["coordinator"],
            candidate="Linda Hermans"))


def main():
    for f in os.listdir(HERE):
        if f.endswith(".eml") or (f.endswith(".json") and f[:3].isdigit()):
            os.remove(os.path.join(HERE, f))
    for name, eml, expected in FIXTURES:
        data = eml.encode("latin-1") if all(ord(c) < 256 for c in eml) else eml.encode("utf-8")
        with open(os.path.join(HERE, name + ".eml"), "wb") as fh:
            fh.write(data)
        with open(os.path.join(HERE, name + ".json"), "w", encoding="utf-8") as fh:
            json.dump(expected, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    print("%d fixtures written" % len(FIXTURES))


if __name__ == "__main__":
    main()
