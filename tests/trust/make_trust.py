#!/usr/bin/env python3
"""Writes the golden sender-trust mails (tests/trust/NNN-name.eml + .json).

Each mail carries the headers the landlord's receiving server really writes on one of the three
setups (Exchange Online, Google Workspace, an own MX with rspamd or OpenDKIM + OpenDMARC), with
what a sender could add below them. The .json names the setup (`_trust`) and the expected subset
of the decision; tests/integration/trust.rs runs them against tests/corpus/doorstroom-noauth.toml
with that anchor set. Run from the repository root: python3 tests/trust/make_trust.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

PARTNER = "Tom Verhoeven <tom.verhoeven@caw-antwerpen.example>"
STAFF = "An Peeters <an.peeters@woonhaven.example>"
SHARED = "versneldedoorstroom@woonhaven.example"

CONCERN = """Beste,

De begeleiding van Maria Claes (VD-2026-0004) loopt niet: er zijn klachten van de buren over vervuiling en ze laat ons niet meer binnen.

Tom Verhoeven
CAW Antwerpen
"""

LEASE = """Dag collega's,

De huurovereenkomst van Dirk Vermeulen (VD-2026-0003) gaat in op 1 december 2026.

An Peeters
Dienst Bewonerscontacten
"""

OWN = """Beste,

Wij ontvingen uw aanmelding. Dit is een automatisch bericht.

Versnelde doorstroom
"""

CONCERN_OUT = {"kind": "concern", "partner": "caw-antwerpen", "case_ref": "VD-2026-0004", "must_auto_reply": True}
# A spoof names the case it is about: kept with that case for the coordinator only (issue 23);
# never answered, so no case data goes out (must_auto_reply false, nobody notified).
SPOOF_OUT = {"kind": "spam_or_spoof", "partner": None, "case_ref": "VD-2026-0004", "candidate": None, "must_auto_reply": False, "notify": [], "_claimed_partner": "caw-antwerpen"}
LEASE_OUT = {"kind": "lease_start", "case_ref": "VD-2026-0003", "lease_start": "2026-12-01"}
OWN_OUT = {"kind": "own_copy", "partner": None, "case_ref": None, "must_auto_reply": False, "notify": []}

# --- Exchange Online ------------------------------------------------------------------------

def exo_top(auth_results, ip="194.78.22.41", helo="mail.caw-antwerpen.example"):
    return f"""Received: from AM0PR07MB6401.eurprd07.prod.outlook.com (2603:10a6:208:11c::20)
 by DB9PR07MB7115.eurprd07.prod.outlook.com with HTTPS; Tue, 17 Nov 2026
 09:12:05 +0000
Received: from AS9PR06CA0123.eurprd06.prod.outlook.com (2603:10a6:20b:467::22)
 by AM0PR07MB6401.eurprd07.prod.outlook.com (2603:10a6:208:11c::20) with
 Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8158.20; Tue, 17 Nov
 2026 09:12:04 +0000
Received: from AMS0EPF000001A0.eurprd05.prod.outlook.com
 (2603:10a6:20b:467:cafe::5b) by AS9PR06CA0123.outlook.office365.com
 (2603:10a6:20b:467::22) with Microsoft SMTP Server (version=TLS1_3,
 cipher=TLS_AES_256_GCM_SHA384) id 15.20.8158.21 via Frontend Transport; Tue,
 17 Nov 2026 09:12:04 +0000
Authentication-Results: {auth_results}
Received-SPF: Pass (protection.outlook.com: domain of caw-antwerpen.example
 designates {ip} as permitted sender) receiver=protection.outlook.com;
 client-ip={ip}; helo={helo}; pr=C
Received: from {helo} ({ip}) by
 AMS0EPF000001A0.mail.protection.outlook.com (10.167.16.230) with Microsoft
 SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.8158.14
 via Frontend Transport; Tue, 17 Nov 2026 09:12:03 +0000
"""

EXO_BOTTOM_ANON = """X-MS-Exchange-Organization-ExpirationStartTime: 17 Nov 2026 09:12:04.1234
 (UTC)
X-MS-Exchange-Organization-Network-Message-Id: 6f0c2e1a-93b1-4e0a-8d2f-08dd0a1b2c3d
X-MS-Exchange-Organization-MessageDirectionality: Incoming
X-MS-Exchange-Organization-AuthSource: AMS0EPF000001A0.eurprd05.prod.outlook.com
X-MS-Exchange-Organization-AuthAs: Anonymous
X-MS-Exchange-Organization-SCL: 1
X-MS-Exchange-CrossTenant-OriginalArrivalTime: 17 Nov 2026 09:12:03.8765 (UTC)
X-MS-Exchange-CrossTenant-Id: 3b2c1d0e-aaaa-bbbb-cccc-0123456789ab
"""

EXO_BOTTOM_INTERNAL = """X-MS-Exchange-Organization-ExpirationStartTime: 17 Nov 2026 09:12:04.1234
 (UTC)
X-MS-Exchange-Organization-Network-Message-Id: 1a2b3c4d-93b1-4e0a-8d2f-08dd0a1b2c3d
X-MS-Exchange-Organization-MessageDirectionality: Originating
X-MS-Exchange-Organization-AuthSource: DB9PR07MB7115.eurprd07.prod.outlook.com
X-MS-Exchange-Organization-AuthAs: Internal
X-MS-Exchange-Organization-AuthMechanism: 04
X-MS-Exchange-Organization-SCL: -1
X-MS-Exchange-Transport-CrossTenantHeadersStamped: DB9PR07MB7115
"""

EXO_INTERNAL_TOP = """Received: from DB9PR07MB7115.eurprd07.prod.outlook.com (2603:10a6:10:2b::14)
 by AM0PR07MB6401.eurprd07.prod.outlook.com with HTTPS; Tue, 17 Nov 2026
 09:12:05 +0000
Received: from DB9PR07MB7115.eurprd07.prod.outlook.com
 ([fe80::1c2d:3e4f:5a6b:7c8d]) by DB9PR07MB7115.eurprd07.prod.outlook.com
 ([fe80::1c2d:3e4f:5a6b:7c8d%4]) with mapi id 15.20.8158.020; Tue, 17 Nov 2026
 09:12:04 +0000
"""

DKIM_CAW = """DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=caw-antwerpen.example;
 s=sel1; h=From:To:Subject:Date:Message-ID;
 bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==
"""


def mail(top, sender, subject, body, bottom="", message_id=None, extra=""):
    mid = message_id or "<AM9PR07MB7004{:04d}@AM9PR07MB7004.eurprd07.prod.outlook.com>"
    return (
        top
        + extra
        + f"""From: {sender}
To: {SHARED}
Subject: {subject}
Date: Tue, 17 Nov 2026 10:12:00 +0100
Message-ID: {mid}
Content-Language: nl-BE
"""
        + bottom
        + """MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

"""
        + body
    )


FIXTURES = []


def fixture(name, trust, text, expected):
    FIXTURES.append((name, trust, text, expected))


EXO_PASS = """spf=pass (sender IP is 194.78.22.41)
 smtp.mailfrom=caw-antwerpen.example; dkim=pass (signature was verified)
 header.d=caw-antwerpen.example;dmarc=pass action=none
 header.from=caw-antwerpen.example;compauth=pass reason=100"""

fixture("101-exchange-genuine-partner-dmarc-pass", "exchange-online",
        mail(exo_top(EXO_PASS), PARTNER, "Zorgen over Maria Claes", CONCERN, EXO_BOTTOM_ANON,
             "<AM9PR07MB70040101@AM9PR07MB7004.eurprd07.prod.outlook.com>", DKIM_CAW),
        CONCERN_OUT)

fixture("102-exchange-genuine-partner-bestguesspass-stray-tokens", "exchange-online",
        mail(exo_top("""spf=pass (sender IP is 194.78.22.41)
 smtp.mailfrom=caw-antwerpen.example; woonhaven.example; dkim=pass (signature
 was verified) header.d=caw-antwerpen.example;woonhaven.example;
 dmarc=bestguesspass action=none header.from=caw-antwerpen.example;compauth=pass
 reason=109"""), PARTNER, "Zorgen over Maria Claes", CONCERN, EXO_BOTTOM_ANON,
             "<AM9PR07MB70040102@AM9PR07MB7004.eurprd07.prod.outlook.com>", DKIM_CAW),
        CONCERN_OUT)

fixture("103-exchange-genuine-staff-authas-internal", "exchange-online",
        mail(EXO_INTERNAL_TOP, STAFF, "Ingang huurovereenkomst Dirk Vermeulen", LEASE,
             EXO_BOTTOM_INTERNAL, "<DB9PR07MB71150103@DB9PR07MB7115.eurprd07.prod.outlook.com>"),
        LEASE_OUT)

fixture("104-exchange-spoof-dmarc-fail-compauth-fail", "exchange-online",
        mail(exo_top("""spf=fail (sender IP is 198.51.100.23)
 smtp.mailfrom=caw-antwerpen.example; dkim=none (message not signed)
 header.d=none;dmarc=fail action=quarantine
 header.from=caw-antwerpen.example;compauth=fail reason=000""", "198.51.100.23", "bulk.evil.example"),
             PARTNER, "Zorgen over Maria Claes", CONCERN, EXO_BOTTOM_ANON,
             "<0104.spoof@bulk.evil.example>"),
        SPOOF_OUT)

fixture("105-exchange-spoof-forged-lower-results-say-pass", "exchange-online",
        mail(exo_top("""spf=softfail (sender IP is 198.51.100.23)
 smtp.mailfrom=caw-antwerpen.example; dkim=none (message not signed)
 header.d=none;dmarc=none action=none
 header.from=caw-antwerpen.example;compauth=fail reason=001""", "198.51.100.23", "bulk.evil.example"),
             PARTNER, "Zorgen over Maria Claes", CONCERN,
             EXO_BOTTOM_ANON,
             "<0105.spoof@bulk.evil.example>",
             # What the sender wrote: a Microsoft-shaped pass, one under our own MX's name, and
             # Exchange's own organisation header (Exchange's header firewall strips these; if
             # one slipped through it still disagrees with Exchange's own AuthAs).
             """Authentication-Results: spf=pass (sender IP is 194.78.22.41)
 smtp.mailfrom=caw-antwerpen.example; dkim=pass (signature was verified)
 header.d=caw-antwerpen.example;dmarc=pass action=none
 header.from=caw-antwerpen.example;compauth=pass reason=100
Authentication-Results: mx.woonhaven.example; dmarc=pass header.from=caw-antwerpen.example
ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass
 smtp.mailfrom=caw-antwerpen.example; dmarc=pass action=none
 header.from=caw-antwerpen.example; dkim=pass header.d=caw-antwerpen.example; arc=none
X-MS-Exchange-Organization-AuthAs: Internal
"""),
        SPOOF_OUT)

fixture("106-exchange-dmarc-pass-for-another-domain", "exchange-online",
        mail(exo_top("""spf=pass (sender IP is 192.0.2.77)
 smtp.mailfrom=bounces.nieuwsbrief-tool.example; dkim=pass (signature was verified)
 header.d=nieuwsbrief-tool.example;dmarc=pass action=none
 header.from=nieuwsbrief-tool.example;compauth=pass reason=100""", "192.0.2.77", "out.nieuwsbrief-tool.example"),
             PARTNER, "Zorgen over Maria Claes", CONCERN, EXO_BOTTOM_ANON,
             "<0106@nieuwsbrief-tool.example>"),
        SPOOF_OUT)

fixture("107-exchange-own-copy-bcc-to-shared-mailbox", "exchange-online",
        mail(EXO_INTERNAL_TOP, f"Versnelde doorstroom Woonhaven <{SHARED}>",
             "[VD-2026-0004] Ontvangstbevestiging", OWN, EXO_BOTTOM_INTERNAL,
             "<0a1b2c3d4e5f60718293a4b5c6d7e8f9.doorstroom@woonhaven.example>",
             "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n"),
        OWN_OUT)

fixture("108-exchange-forged-own-copy-from-outside", "exchange-online",
        mail(exo_top("""spf=fail (sender IP is 198.51.100.23)
 smtp.mailfrom=woonhaven.example; dkim=none (message not signed)
 header.d=none;dmarc=fail action=oreject
 header.from=woonhaven.example;compauth=fail reason=000""", "198.51.100.23", "bulk.evil.example"),
             f"Versnelde doorstroom Woonhaven <{SHARED}>", "[VD-2026-0004] Ontvangstbevestiging", OWN,
             EXO_BOTTOM_ANON, "<0a1b2c3d4e5f60718293a4b5c6d7e8f9.doorstroom@woonhaven.example>",
             "Auto-Submitted: auto-generated\n"),
        {"kind": "spam_or_spoof", "partner": None, "case_ref": "VD-2026-0004", "notify": []})

fixture("109-exchange-no-microsoft-results-on-top", "exchange-online",
        mail("""Authentication-Results: mx.relay.example; dmarc=pass header.from=caw-antwerpen.example
Received: from mail.caw-antwerpen.example by mx.relay.example; Tue, 17 Nov 2026 09:12:03 +0000
""", PARTNER, "Zorgen over Maria Claes", CONCERN, EXO_BOTTOM_ANON, "<0109@relay.example>"),
        SPOOF_OUT)

fixture("110-exchange-verified-private-sender-is-unknown", "exchange-online",
        mail(exo_top("""spf=pass (sender IP is 209.85.222.48)
 smtp.mailfrom=gmail.com; dkim=pass (signature was verified)
 header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass
 reason=100""", "209.85.222.48", "mail-qk1-f176.google.com"),
             "Jan Janssens <jan.janssens1987@gmail.com>", "Vraag over mijn dossier", CONCERN,
             EXO_BOTTOM_ANON, "<CAF0110@mail.gmail.com>"),
        {"kind": "unknown_sender", "partner": None, "case_ref": "VD-2026-0004", "must_auto_reply": False})

# --- Google Workspace -----------------------------------------------------------------------

def google_arc(i, results):
    return f"""ARC-Seal: i={i}; a=rsa-sha256; t=1795425123; cv=none;
        d=google.com; s=arc-20240605;
        b=QkFTRTY0IG5vdCBhIHJlYWwgc2VhbA==
ARC-Message-Signature: i={i}; a=rsa-sha256; c=relaxed/relaxed; d=google.com; s=arc-20240605;
        h=subject:date:message-id:to:from:dkim-signature;
        bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
        b=QkFTRTY0IG5vdCBhIHJlYWwgc2lnbmF0dXJl
ARC-Authentication-Results: i={i}; mx.google.com;
{results}
"""

GOOGLE_PASS = """       dkim=pass header.i=@caw-antwerpen.example header.s=sel1 header.b=dGhpcyBp;
       spf=pass (google.com: domain of tom.verhoeven@caw-antwerpen.example designates 194.78.22.41 as permitted sender) smtp.mailfrom=tom.verhoeven@caw-antwerpen.example;
       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=caw-antwerpen.example"""

GOOGLE_FAIL = """       spf=fail (google.com: domain of tom.verhoeven@caw-antwerpen.example does not designate 198.51.100.23 as permitted sender) smtp.mailfrom=tom.verhoeven@caw-antwerpen.example;
       dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) header.from=caw-antwerpen.example"""

def google_top(results, with_ar=True, ip="194.78.22.41", helo="mail.caw-antwerpen.example"):
    ar = f"Authentication-Results: mx.google.com;\n{results}\n" if with_ar else ""
    return (f"""Delivered-To: {SHARED}
Received: by 2002:a05:7010:5c8f:b0:4a1:1b2c:3d4e with SMTP id q15csp2345678mdb;
        Tue, 17 Nov 2026 01:12:05 -0800 (PST)
X-Google-Smtp-Source: AGHT+IFakeButRealShapedSourceValue==
X-Received: by 2002:a17:907:7f25:b0:a9a:1b2c:3d4e with SMTP id qf37mr1234567ejc.12.1795425125;
        Tue, 17 Nov 2026 01:12:05 -0800 (PST)
""" + google_arc(1, results) + f"""Return-Path: <tom.verhoeven@caw-antwerpen.example>
Received: from {helo} ({helo}. [{ip}])
        by mx.google.com with ESMTPS id a640c23a62f3a-a9a1b2c3d4esi1234567.12.2026.11.17.01.12.04
        for <{SHARED}>
        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);
        Tue, 17 Nov 2026 01:12:05 -0800 (PST)
Received-SPF: pass (google.com: domain of tom.verhoeven@caw-antwerpen.example designates {ip} as permitted sender) client-ip={ip};
""" + ar)

fixture("201-google-genuine-partner", "google-workspace",
        mail(google_top(GOOGLE_PASS), PARTNER, "Zorgen over Maria Claes", CONCERN, "",
             "<0201@caw-antwerpen.example>", DKIM_CAW),
        CONCERN_OUT)

fixture("202-google-genuine-partner-arc-only", "google-workspace",
        mail(google_top(GOOGLE_PASS, with_ar=False), PARTNER, "Zorgen over Maria Claes", CONCERN, "",
             "<0202@caw-antwerpen.example>", DKIM_CAW),
        CONCERN_OUT)

fixture("203-google-spoof-with-forged-pass-below", "google-workspace",
        mail(google_top(GOOGLE_FAIL, ip="198.51.100.23", helo="bulk.evil.example"), PARTNER,
             "Zorgen over Maria Claes", CONCERN, "", "<0203@bulk.evil.example>",
             "Authentication-Results: mx.google.com;\n" + GOOGLE_PASS + "\n" + google_arc(2, GOOGLE_PASS)),
        SPOOF_OUT)

fixture("204-google-forged-arc-below-received-is-not-read", "google-workspace",
        mail(f"""Delivered-To: {SHARED}
Received: from bulk.evil.example (bulk.evil.example. [198.51.100.23])
        by mx.google.com with ESMTPS id a640c23a62f3a-a9a1b2c3d4esi7654321.12.2026.11.17.01.12.04
        for <{SHARED}>; Tue, 17 Nov 2026 01:12:05 -0800 (PST)
""", PARTNER, "Zorgen over Maria Claes", CONCERN, "", "<0204@bulk.evil.example>",
             google_arc(1, GOOGLE_PASS)),
        SPOOF_OUT)

fixture("205-google-genuine-staff", "google-workspace",
        mail(google_top("""       dkim=pass header.i=@woonhaven.example header.s=google header.b=c3RhZmY=;
       spf=pass (google.com: domain of an.peeters@woonhaven.example designates 2a00:1450:4864:20::52f as permitted sender) smtp.mailfrom=an.peeters@woonhaven.example;
       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=woonhaven.example"""), STAFF,
             "Ingang huurovereenkomst Dirk Vermeulen", LEASE, "", "<CAG0205@mail.gmail.com>"),
        LEASE_OUT)

# --- An own MX (rspamd, OpenDKIM + OpenDMARC) -----------------------------------------------

MX_RECEIVED = """Received: from mail.caw-antwerpen.example (mail.caw-antwerpen.example [194.78.22.41])
	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
	(No client certificate requested)
	by mx.woonhaven.example (Postfix) with ESMTPS id 4Xk2Lm0Qz1
	for <versneldedoorstroom@woonhaven.example>; Tue, 17 Nov 2026 10:12:03 +0100 (CET)
"""

fixture("301-own-mx-rspamd-genuine-partner", "authserv-id",
        mail("""Authentication-Results: mx.woonhaven.example;
	dkim=pass header.d=caw-antwerpen.example header.s=sel1 header.b=dGhpcyBp;
	spf=pass (mx.woonhaven.example: domain of tom.verhoeven@caw-antwerpen.example designates 194.78.22.41 as permitted sender) smtp.mailfrom=tom.verhoeven@caw-antwerpen.example;
	dmarc=pass (policy=quarantine) header.from=caw-antwerpen.example
""" + MX_RECEIVED, PARTNER, "Zorgen over Maria Claes", CONCERN, "", "<0301@caw-antwerpen.example>", DKIM_CAW),
        CONCERN_OUT)

fixture("302-own-mx-opendmarc-opendkim-genuine-partner", "authserv-id",
        mail("""Authentication-Results: mx.woonhaven.example; dmarc=pass (p=quarantine dis=none) header.from=caw-antwerpen.example
Authentication-Results: mx.woonhaven.example;
	dkim=pass (2048-bit key; unprotected) header.d=caw-antwerpen.example header.i=@caw-antwerpen.example header.a=rsa-sha256 header.s=sel1 header.b=dGhpcyBp;
	dkim-atps=neutral
""" + MX_RECEIVED, PARTNER, "Zorgen over Maria Claes", CONCERN, "", "<0302@caw-antwerpen.example>", DKIM_CAW),
        CONCERN_OUT)

fixture("303-own-mx-rspamd-spoof-with-microsoft-shaped-pass-below", "authserv-id",
        mail("""Authentication-Results: mx.woonhaven.example;
	dkim=none;
	spf=fail (mx.woonhaven.example: domain of tom.verhoeven@caw-antwerpen.example does not designate 198.51.100.23 as permitted sender) smtp.mailfrom=tom.verhoeven@caw-antwerpen.example;
	dmarc=fail reason="SPF not aligned (relaxed), No valid DKIM" header.from=caw-antwerpen.example (policy=quarantine)
Received: from bulk.evil.example (bulk.evil.example [198.51.100.23])
	by mx.woonhaven.example (Postfix) with ESMTP id 4Xk2Lm0Qz2
	for <versneldedoorstroom@woonhaven.example>; Tue, 17 Nov 2026 10:12:03 +0100 (CET)
""", PARTNER, "Zorgen over Maria Claes", CONCERN, "", "<0303@bulk.evil.example>",
             "Authentication-Results: " + EXO_PASS + "\n"),
        SPOOF_OUT)

fixture("304-own-mx-own-copy-without-results", "authserv-id",
        mail("""Received: from localhost (localhost [127.0.0.1])
	by mx.woonhaven.example (Postfix) with ESMTPSA id 4Xk2Lm0Qz3;
	Tue, 17 Nov 2026 10:12:03 +0100 (CET)
""", f"Versnelde doorstroom Woonhaven <{SHARED}>", "[VD-2026-0004] Ontvangstbevestiging", OWN, "",
             "<0a1b2c3d4e5f60718293a4b5c6d7e8f9.doorstroom@woonhaven.example>",
             "Auto-Submitted: auto-generated\n"),
        OWN_OUT)


def main():
    for name, trust, text, expected in FIXTURES:
        expected = dict(expected)
        expected["_trust"] = trust
        with open(os.path.join(HERE, name + ".eml"), "w", newline="\r\n") as f:
            f.write(text)
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(expected, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"{len(FIXTURES)} fixtures written")


if __name__ == "__main__":
    main()
