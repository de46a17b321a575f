#!/usr/bin/env python3
"""Writes the varied triage corpus: mails written the way different people write them, in two
splits scored apart by `cargo test --test integration corpus -- --nocapture`:

    tests/corpus/varied/tune/NNN-kind.eml    + .json   the phrasings triage may be tuned on
    tests/corpus/varied/heldout/NNN-kind.eml + .json   a third, from phrase banks kept apart

    python3 tests/corpus/make_varied.py

Every mail is one phrasing of a kind (from the split's own phrase bank) in one style: formal or
chatty, short or long, typed on a phone (lowercase, no signature), forwarded by a colleague,
with or without a signature (names, roles, GSM/T./tel.), Dutch with French or English mixed in.
A fixed seed makes the corpus reproducible. The expectations are written here, per kind, as a
coordinator would judge the mail; the register is `tests/corpus/register.json`.

Keys starting with "_" in a .json are directives: `_new_phone` is the phone the new contact
must carry (a contact change).
"""

import json
import os
import random

from make_corpus import (ADDENDUM, FINAL, SHARED, SOCIAL, SOCIAL_PDF, att, exp, html_of,
                         html_part, mail, multipart, text_part)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "varied")

# Senders: (display name, address, partner)
CAW_ELS = ("Els Wouters", "els.wouters@caw-antwerpen.example", "caw-antwerpen")
CAW_TOM = ("Tom Verhoeven", "tom.verhoeven@caw-antwerpen.example", "caw-antwerpen")
CAW_NEW = ("Lien Goossens", "lien.goossens@caw-antwerpen.example", "caw-antwerpen")
OCMW_KARIN = ("Karin Dubois", "karin.dubois@ocmw-antwerpen.example", "ocmw-antwerpen")
BW_JOKE = ("Joke Hermans", "joke.hermans@bw-kempen.example", "bw-kempen")

# Cases of the register the mails are about: (case_ref, candidate, partner, counsellor sender,
# how a person may name the candidate in prose)
CASES = [
    ("VD-2026-0001", "Jan Peeters", CAW_ELS, ["meneer Peeters", "Jan Peeters", "dhr. Jan Peeters",
                                               "Peeters Jan", "J. Peeters", "Jan Peters"]),
    ("VD-2026-0002", "Fatima El Amrani", CAW_ELS, ["mevrouw El Amrani", "Fatima El Amrani",
                                                    "mevr. Fatima El Amrani", "FATIMA EL AMRANI",
                                                    "El Amrani Fatima"]),
    ("VD-2026-0004", "Maria Claes", CAW_TOM, ["mevrouw Claes", "Maria Claes", "M. Claes",
                                               "Maria Claeys"]),
    ("VD-2026-0003", "Dirk Vermeulen", OCMW_KARIN, ["meneer Vermeulen", "Dirk Vermeulen",
                                                     "dhr. Dirk Vermeulen", "Vermeulen Dirk"]),
    ("VD-2026-0005", "Youssef Benali", BW_JOKE, ["de heer Benali", "Youssef Benali",
                                                  "Benali Youssef", "Youssef Bennali"]),
]
# Counsellors who guide exactly one open case: a mail from them without any name or reference
# belongs to that case.
SOLE_COUNSELLOR = {"karin.dubois@ocmw-antwerpen.example": "VD-2026-0003",
                   "joke.hermans@bw-kempen.example": "VD-2026-0005"}

NEW_CANDIDATES = ["Ahmed Bakkali", "Sofie Verbeeck", "Kenan Yilmaz", "Ilse Van Damme", "Omar Haddou",
                  "Nele De Wolf", "Bart Mertens", "Hanna Desmet", "Rachid Amrani", "Evi Schoofs",
                  "Marc Lambrechts", "Yasmina Tahiri", "Luc Wuyts", "Ines Dewitte", "Samir Ouali",
                  "Katrien Pauwels", "Dries Goris", "Aylin Kaya", "Pieter Baert", "Naima Bouzidi"]

PHONES = ["0486 55 44 33", "0470/12.34.56", "0479 88 77 66", "+32 471 23 45 67", "0496 11 22 33",
          "03 212 25 72", "0468 90 12 34"]


def signature(rng, who, style):
    name, address, partner = who
    org = {"caw-antwerpen": "CAW Antwerpen", "ocmw-antwerpen": "OCMW Antwerpen",
           "bw-kempen": "Beschermd Wonen Kempen"}.get(partner, "")
    phone = rng.choice(PHONES)
    label = rng.choice(["GSM", "gsm:", "T.", "tel.", "M.", "Tel:", "mobiel"])
    role = rng.choice(["woonbegeleider", "Woonbegeleider – Team Wonen", "maatschappelijk werker",
                       "begeleider Beschermd Wonen", "trajectbegeleider"])
    close = rng.choice(["Met vriendelijke groeten,", "Vriendelijke groeten,", "Mvg,",
                        "Groeten,", "Met vriendelijke groet", "Kind regards,", "Bien à vous,"])
    if style == "phone":
        return rng.choice(["\n\nVerstuurd vanaf mijn iPhone", "\n\nVerzonden vanaf mijn Samsung Galaxy",
                           "\n\n" + name.split()[0], ""])
    if style == "nosig":
        return "\n\n" + rng.choice([name.split()[0], name, ""])
    return "\n\n%s\n%s\n%s\n%s\n%s %s\n" % (close, name, role, org, label, phone)


def greet(rng, style):
    if style == "phone":
        return rng.choice(["", "hoi, ", "dag, ", "hallo "])
    return rng.choice(["Beste,\n\n", "Dag An,\n\n", "Goedemorgen,\n\n", "Beste collega,\n\n",
                       "Hallo,\n\n", "Geachte,\n\n", "Bonjour,\n\n", "Hi,\n\n", "Dag allemaal,\n\n"])


def styled(rng, text, style):
    if style == "phone":
        t = text.replace("\n\n", " ").replace("\n", " ")
        return t[0].lower() + t[1:] if t else t
    if style == "long":
        return text + rng.choice([
            "\n\nAls er nog vragen zijn, mag u mij altijd contacteren. Ik ben bereikbaar op maandag, "
            "dinsdag en donderdag.",
            "\n\nWe blijven dit uiteraard verder opvolgen en houden jullie op de hoogte van het verloop.",
            "\n\nAlvast bedankt voor jullie medewerking en een fijne dag verder!",
        ])
    if style == "mixed":
        return text + rng.choice(["\n\nMerci en bonne journée!", "\n\nThanks in advance, FYI ook aan de SA.",
                                  "\n\nMerci beaucoup voor de snelle opvolging.", "\n\nCheers!"])
    return text


# ---------------------------------------------------------------- phrase banks
#
# Each entry is a function (rng, case name) → (subject, body). TUNE and HELDOUT are written
# apart; triage is never changed to fit a HELDOUT phrasing.

def bank_tune():
    return {
        "referral": [
            lambda r, n, cir: ("Aanmelding versnelde doorstroom – %s" % n,
                               "Hierbij meld ik %s aan voor versnelde doorstroom.%s\nIn bijlage het addendum en het sociaal verslag."
                               % (n, cir)),
            lambda r, n, cir: ("Aanmelding kandidaat-huurder",
                               "Hierbij meld ik graag de heer %s aan.%s\nZie bijlagen (addendum + sociaal verslag)." % (n, cir)),
            lambda r, n, cir: ("aanmelding %s" % n,
                               "Naam kandidaat: %s%s\nDocumenten in bijlage." % (n, cir)),
            lambda r, n, cir: ("Nieuwe aanmelding VD",
                               "Wij melden mevrouw %s aan voor de versnelde doorstroom.%s" % (n, cir)),
        ],
        "contact_change": [
            lambda r, c, p: ("Nieuw gsm-nummer", "Ik heb een nieuw gsm-nummer gekregen voor de begeleiding van %s: %s" % (c, p)),
            lambda r, c, p: ("Wijziging contactgegevens %s" % c,
                             "Vanaf 1 januari neemt Lien Goossens de begeleiding over van %s. Zij is bereikbaar op %s of lien.goossens@caw-antwerpen.example." % (c, p)),
            lambda r, c, p: ("nieuw nummer", "mijn nieuw nummer is %s, ivm %s" % (p, c)),
            lambda r, c, p: ("Nieuwe woonbegeleider", "De nieuwe woonbegeleider van %s is Lien Goossens (%s)." % (c, p)),
        ],
        "concern": [
            lambda r, c: ("Zorgen over %s" % c, "We maken ons zorgen over %s: er is weinig medewerking en de huurachterstal loopt op." % c),
            lambda r, c: ("Opvolging %s" % c, "Het loopt niet goed bij %s. Hij komt afspraken niet na en er zijn klachten van de buren over overlast." % c),
            lambda r, c: ("stand van zaken", "bij %s blijft het moeizaam, geen medewerking meer sinds oktober" % c),
        ],
        "urgent_concern": [
            lambda r, c: ("DRINGEND %s" % c, "Gisteren is %s agressief geworden tegen een buurvrouw; de politie is langs geweest." % c),
            lambda r, c: ("Incident bij %s" % c, "%s werd bedreigd door een ex-partner en voelt zich niet veilig in de woning." % c),
        ],
        "final_report": [
            lambda r, c: ("Eindverslag %s" % c, "In bijlage het eindverslag van de begeleiding van %s. De begeleiding werd stopgezet op 30 november." % c),
            lambda r, c: ("Stopzetting begeleiding %s" % c, "In overleg met %s stoppen we de begeleiding. Het eindverslag volgt in bijlage." % c),
        ],
        "reply_to_case": [
            lambda r, c: ("Re: %s" % c, "Dank je voor de info over %s, goed ontvangen." % c),
            lambda r, c: ("vraagje %s" % c, "Is er al nieuws over de toewijzing voor %s? Alvast bedankt." % c),
        ],
        "auto_reply": [
            lambda r: ("Afwezig", "Ik ben afwezig tot en met 4 januari. Voor dringende zaken kunt u terecht bij het onthaal op 03 123 45 67."),
            lambda r: ("Re: Agenda structureel overleg", "Bedankt voor uw mail. Ik ben met verlof tot 2 januari en heb geen toegang tot mijn mail."),
            lambda r: ("Absence", "Je suis absente jusqu'au 5 janvier. En cas d'urgence, contactez le secrétariat."),
            lambda r: ("Out of office", "I am out of the office until January 4th with limited access to email."),
        ],
    }


def bank_heldout():
    return {
        "referral": [
            lambda r, n, cir: ("Aanmelding VD: %s" % n,
                               "Graag wil ik bij deze mevr. %s aanmelden; ze is al lang ingeschreven.%s\nAddendum en uitgebreid sociaal verslag zitten in bijlage." % (n, cir)),
            lambda r, n, cir: ("kandidaat voor versnelde doorstroom",
                               "Hierbij melden we, na overleg met het team, dhr. %s aan voor versnelde doorstroom.%s" % (n, cir)),
            lambda r, n, cir: ("Aanmelding %s (versnelde doorstroom)" % n,
                               "Bijgevoegd vindt u de aanmeldingsdocumenten.%s" % cir),
        ],
        "contact_change": [
            lambda r, c, p: ("Ander nummer", "Kleine update: ik ben voortaan bereikbaar op een ander nummer, %s (begeleiding %s)." % (p, c)),
            lambda r, c, p: ("Wissel begeleiding %s" % c, "Collega Lien Goossens vervangt mij vanaf maandag bij %s; haar gsm is %s." % (c, p)),
            lambda r, c, p: ("nieuw mailadres", "Let op, mijn nieuw mailadres wordt lien.goossens@caw-antwerpen.example voor %s. Tel %s" % (c, p)),
        ],
        "concern": [
            lambda r, c: ("Moeilijke situatie %s" % c, "Ik wil even signaleren dat de begeleiding van %s moeizaam verloopt: hij weigert huisbezoeken en de woning raakt vervuild." % c),
            lambda r, c: ("%s – huur" % c, "Er is opnieuw een achterstal in de huur bij %s en ik krijg haar niet te pakken, ze is niet bereikbaar." % c),
        ],
        "urgent_concern": [
            lambda r, c: ("Dringend: %s" % c, "Vannacht was er brand in de keuken bij %s, de brandweer kwam ter plaatse." % c),
            lambda r, c: ("Melding %s" % c, "%s heeft gedreigd met een mes tijdens het huisbezoek van vanmorgen." % c),
        ],
        "final_report": [
            lambda r, c: ("einde begeleiding %s" % c, "De begeleiding van %s wordt beëindigd, zie eindverslag in bijlage." % c),
        ],
        "reply_to_case": [
            lambda r, c: ("Re: %s" % c, "Ok, top, we spreken dan volgende week verder af rond %s." % c),
            lambda r, c: ("%s" % c, "Ter info: %s heeft de huurwaarborg intussen betaald." % c),
        ],
        "auto_reply": [
            lambda r: ("Automatisch antwoord: Aanmelding", "Bedankt voor uw bericht. Ik ben momenteel afwezig en ben terug op 6 januari. Uw mail wordt niet doorgestuurd."),
            lambda r: ("Abwesend", "Ich bin bis zum 5. Januar nicht im Büro. In dringenden Fällen wenden Sie sich bitte an das Sekretariat."),
            lambda r: ("RE: Berichtgeving overleg", "Je serai absent du bureau jusqu'au 4 janvier. Pour toute urgence: 02 555 66 77."),
        ],
    }


STYLES = ["formal", "chatty", "phone", "long", "mixed", "nosig", "forwarded"]


def write_split(split, bank, rng, count, start):
    os.makedirs(os.path.join(OUT, split), exist_ok=True)
    kinds = ["referral", "referral", "contact_change", "concern", "urgent_concern", "final_report",
             "reply_to_case", "auto_reply", "concern", "contact_change", "unknown_sender", "cross_partner"]
    n = start
    written = 0
    while written < count:
        kind = kinds[written % len(kinds)]
        style = STYLES[(written // len(kinds) + written) % len(STYLES)]
        n += 1
        name, eml, expected = one(split, bank, rng, kind, style, n)
        data = eml.encode("utf-8")
        with open(os.path.join(OUT, split, name + ".eml"), "wb") as fh:
            fh.write(data)
        with open(os.path.join(OUT, split, name + ".json"), "w", encoding="utf-8") as fh:
            json.dump(expected, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        written += 1
    return n


def case_mail(rng, bank, kind, style, n, extra_args=()):
    case_ref, candidate, who, names = rng.choice(CASES)
    how = rng.choice(["tag", "name", "name", "counsellor"] if who[1] in SOLE_COUNSELLOR else
                     ["tag", "name", "name"])
    if how == "tag":
        named = rng.choice(["%s (%s)" % (rng.choice(names), case_ref), case_ref, "dossier %s" % case_ref])
    elif how == "name":
        named = rng.choice(names)
    else:
        named = rng.choice(["mijn cliënt", "de cliënt", "hem", "de bewoner"])
    subject, body = rng.choice(bank[kind])(rng, named, *extra_args)
    return case_ref, candidate, who, subject, body


def one(split, bank, rng, kind, style, n):
    date = "Tue, %d Dec 2026 %02d:%02d:00 +0100" % (1 + n % 20, 8 + n % 9, n % 60)
    client = rng.choice(["outlook", "gmail", "thunderbird", "apple", "claws"])
    attachments = []
    if kind in ("referral",):
        who = rng.choice([CAW_ELS, CAW_TOM, OCMW_KARIN, BW_JOKE])
        candidate = NEW_CANDIDATES[n % len(NEW_CANDIDATES)]
        cir_value = rng.choice([None, "2024-118342", "2025-00%d" % (4000 + n), "2026-%06d" % (n * 37)])
        cir_label = rng.choice(["CIR-nummer: ", "Inschrijvingsnummer (CIR): ", "CIR: ", "inschrijvingsnr. "])
        cir = "\n%s%s" % (cir_label, cir_value) if cir_value else ""
        subject, body = rng.choice(bank["referral"])(rng, candidate, cir)
        complete = n % 3 != 0
        attachments = [att("application/pdf", "Addendum %s.pdf" % candidate.split()[-1], ADDENDUM)]
        if complete:
            attachments.append(att("application/pdf", "Sociaal verslag %s.pdf" % candidate.split()[-1], SOCIAL_PDF))
        named_in_text = candidate in subject or candidate in body
        e = exp("referral" if complete else "referral_incomplete", who[2], None,
                ["addendum", "social_report"] if complete else ["addendum"],
                [] if complete else ["social_report"], True, ["coordinator"])
        if named_in_text:
            e["candidate"] = candidate
        if cir_value:
            e["cir"] = cir_value
    elif kind in ("unknown_sender",):
        who = ("Sam Peeters", "sam.peeters%d@gmail.example" % n, None)
        subject, body = rng.choice([
            ("Vraag over mijn dossier", "Ik wil graag weten hoe het staat met mijn aanvraag voor een woning."),
            ("Aanmelding", "Hierbij meld ik mijn broer %s aan." % NEW_CANDIDATES[n % 20]),
            ("info", "Kan iemand mij bellen over de toewijzing van Jan Peeters?"),
        ])
        e = exp("unknown_sender", None, None, [], [], False, ["coordinator"])
    elif kind == "cross_partner":
        who = OCMW_KARIN
        case_ref = rng.choice(["VD-2026-0001", "VD-2026-0002", "VD-2026-0004"])
        subject, body = rng.choice([
            ("Vraag over %s" % case_ref, "Kunnen jullie mij laten weten hoe het gaat in dossier %s?" % case_ref),
            ("Re: %s" % case_ref, "Wij hebben ook contact met deze persoon (%s), graag overleg." % case_ref),
        ])
        e = exp("cross_partner", "ocmw-antwerpen", case_ref, [], [], False, ["coordinator"])
    elif kind == "auto_reply":
        case_ref, candidate, who, names = rng.choice(CASES)
        subject, body = rng.choice(bank["auto_reply"])(rng)
        e = {"kind": "auto_reply", "partner": who[2], "must_auto_reply": False}
        style = "formal"
    else:
        extra = ()
        phone = rng.choice(PHONES)
        if kind == "contact_change":
            extra = (phone,)
        case_ref, candidate, who, subject, body = case_mail(rng, bank, kind, style, n, extra)
        notify = {"contact_change": ["social_assistant"], "concern": ["coordinator", "social_assistant"],
                  "urgent_concern": ["coordinator", "social_assistant"],
                  "final_report": ["coordinator", "social_assistant"],
                  "reply_to_case": ["coordinator"]}[kind]
        e = exp(kind, who[2], case_ref, [], [], True, notify, candidate=candidate)
        if kind == "final_report":
            attachments = [att("application/pdf", "Eindverslag.pdf", FINAL)]
            e["documents"] = ["final_report"]
        if kind == "contact_change":
            e["_new_phone"] = phone
    text = greet(rng, style) + styled(rng, body, style) + signature(rng, who, style)
    frm = "%s <%s>" % (who[0], who[1])
    if style == "forwarded" and who[2] is not None and kind not in ("cross_partner",):
        # A colleague of the same partner forwards it inline.
        colleague = "%s <%s>" % ("Secretariaat", "secretariaat@" + who[1].split("@")[1])
        text = ("Ter info doorgestuurd.\n\n---------- Forwarded message ---------\nVan: %s\nDate: ma 30 nov. 2026 om 14:02\n"
                "Subject: %s\nTo: <%s>\n\n%s" % (frm, subject, SHARED, text))
        frm = colleague
        subject = "Fwd: " + subject
    if rng.random() < 0.5:
        body_part = text_part(text)
    else:
        body_part = multipart("alternative", "alt%04d" % n, [text_part(text), html_part(html_of(text))])
    if attachments:
        mime = multipart("mixed", "mix%04d" % n, [body_part] + attachments)
    else:
        mime = body_part
    eml = mail(1000 + n, client, frm, subject, mime, date=date,
               auth=None if who[2] is not None else "")
    return "%03d-%s-%s" % (n, kind.replace("_", "-"), style), eml, e


def main():
    for split in ("tune", "heldout"):
        d = os.path.join(OUT, split)
        if os.path.isdir(d):
            for f in os.listdir(d):
                os.remove(os.path.join(d, f))
    rng = random.Random(23)
    last = write_split("tune", bank_tune(), rng, 144, 100)
    write_split("heldout", bank_heldout(), random.Random(2323), 72, last + 100)
    print("varied corpus written: 144 tune, 72 held out")


if __name__ == "__main__":
    main()
