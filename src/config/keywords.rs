//! Keyword lists that steer classification, with Dutch (Flemish) defaults an admin can replace in
//! the `[triage]` table of the config. Config owns them (they are validated with it); the
//! classifier in [`crate::understand`] reads them.

use super::raw::RawTriage;

/// Lowercase phrases; a mail matches a list when its text contains one of them as words.
#[derive(Debug, Clone, PartialEq)]
pub struct Keywords {
    pub referral: Vec<String>,
    pub urgent: Vec<String>,
    pub concern: Vec<String>,
    /// Good news about a concern reported before ("is opgelost", "geen problemen meer"): an
    /// answer on a known case with these words is an update, not a new concern.
    pub good_news: Vec<String>,
    pub contact_change: Vec<String>,
    /// Guidance moves to another organisation (overdracht van de begeleiding, `003` §4). With
    /// another organisation named (or written by it), these win over [`Keywords::contact_change`].
    pub handover: Vec<String>,
    pub final_report: Vec<String>,
    pub discussion: Vec<String>,
    pub lease_start: Vec<String>,
    pub conclusion: Vec<String>,
    pub bulk: Vec<String>,
    /// A staff mail asking a partner for preventive guidance (`002` §5.2).
    pub preventive_request: Vec<String>,
    /// The partner takes a preventive request on.
    pub take_on: Vec<String>,
    /// The partner declines a preventive request (with its motivation, `002` §4.3).
    pub decline: Vec<String>,
    /// The counsellor's action plan (handelingsplan, `002` §5.3).
    pub action_plan: Vec<String>,
    /// A goal line concerns housing or the landlord's conditions (kept on the case).
    pub housing_goal: Vec<String>,
    /// Closing a preventive case (`002` §5.5).
    pub closing: Vec<String>,
    /// Forms of address before a person's name ("de heer", "mevrouw", "dhr."): the words after
    /// one of them are read as a name (candidate, new counsellor).
    pub titles: Vec<String>,
    /// An out-of-office reply in its own words (nl/fr/en/de), for mail that carries no
    /// auto-reply headers (RFC 3834): never answered.
    pub out_of_office: Vec<String>,
    /// An out-of-office reply pointing elsewhere ("voor dringende zaken"): with one
    /// [`Keywords::out_of_office`] phrase, enough to call a mail an out-of-office.
    pub out_of_office_redirect: Vec<String>,
    /// Labels of the CIR registration number ("inschrijvingsnummer (CIR)", "CIR-nr").
    pub cir_labels: Vec<String>,
    /// Below this confidence (0.0–1.0) a decision is put before the coordinator to confirm.
    pub confidence_threshold: f64,
}

fn list(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

impl Default for Keywords {
    fn default() -> Self {
        Keywords {
            // "versnelde doorstroom" and "toewijzing" are not here: they are in the subject of
            // every kind of mail about the programme, not only of referrals.
            referral: list(&[
                "aanmelding",
                "aanmelden",
                "meld ik",
                "melden wij",
                "melden we",
                "kandidaat-huurder",
                "kandidaat huurder",
            ]),
            urgent: list(&[
                "agressie",
                "agressief",
                "wapen",
                "mes",
                "bedreigd",
                "bedreiging",
                "dreigt",
                "geslagen",
                "slaag",
                "politie",
                "brand",
                "brandweer",
                "vechtpartij",
                "gedreigd",
                "dreigde",
                "mishandeld",
                "mishandeling",
                "gewapend",
                "onveilig",
                "veiligheid",
                "zelfmoord",
                "suïcide",
                "suicide",
                "geweld",
                "onmiddellijk",
            ]),
            concern: list(&[
                "zorgen",
                "bezorgd",
                "moeilijk",
                "loopt niet",
                "geen medewerking",
                "weinig medewerking",
                "onvoldoende medewerking",
                "moeizaam",
                "weigert",
                "komt afspraken niet na",
                "schade",
                "overlast",
                "klachten",
                "leefbaarheid",
                "huurachterstal",
                "achterstal",
                "vervuiling",
                "verwaarlozing",
                "niet bereikbaar",
                "afspraken niet",
                "problemen",
            ]),
            contact_change: list(&[
                "nieuwe woonbegeleider",
                "nieuw contact",
                "contactgegevens",
                "nieuwe contactpersoon",
                "neemt over",
                "overgenomen",
                "vervangt",
                "nieuw telefoonnummer",
                "nieuw e-mailadres",
                "nieuw adres",
                "nieuw gsm-nummer",
                "nieuw gsmnummer",
                "nieuw gsm nummer",
                "nieuwe gsm",
                "nieuw nummer",
                "ander nummer",
                "nummer is gewijzigd",
                "nieuw mailadres",
                "nieuw emailadres",
                "nieuw e-mail adres",
                "neemt de begeleiding over",
                "neemt de begeleiding van",
                "vervangen door",
                "opgevolgd door",
                "afwezig tot",
                "nieuwe begeleider",
                "nieuwe begeleidster",
            ]),
            final_report: list(&[
                "eindverslag",
                "stopzetting",
                "stopgezet",
                "stop begeleiding",
                "einde begeleiding",
                "beëindiging",
                "afsluiting begeleiding",
            ]),
            discussion: list(&[
                "bespreken",
                "agenderen",
                "op de agenda",
                "graag bespreken",
                "toevoegen aan de agenda",
            ]),
            lease_start: list(&[
                "ingang huurovereenkomst",
                "huurovereenkomst",
                "start huur",
                "ingangsdatum",
                "contract getekend",
                "sleutels",
            ]),
            conclusion: list(&[
                "conclusies",
                "besluiten",
                "verslag overleg",
                "structureel overleg",
            ]),
            bulk: list(&[
                "nieuwsbrief",
                "uitschrijven",
                "unsubscribe",
                "webinar",
                "vorming",
            ]),
            preventive_request: list(&[
                "preventieve woonbegeleiding",
                "preventieve begeleiding",
                "uithuiszetting",
                "uit huis gezet",
                "huurachterstal",
                "huurachterstallen",
                "huurschuld",
            ]),
            take_on: list(&[
                "nemen de begeleiding op",
                "nemen wij de begeleiding op",
                "nemen we de begeleiding op",
                "starten wij de begeleiding",
                "begeleiding wordt opgestart",
                "nemen wij op",
                "nemen we op",
                "starten de begeleiding",
                "starten we de begeleiding",
                "begeleiding opgestart",
                "gaan akkoord",
                "aanvaarden",
                "nemen dit op",
            ]),
            decline: list(&[
                "niet opstarten",
                "niet op te starten",
                "niet opnemen",
                "kunnen de begeleiding niet",
                "weigeren",
                "geen begeleiding opstarten",
                "niet ingaan op",
                "moeten wij weigeren",
                "moeten we weigeren",
            ]),
            good_news: list(&[
                "goed nieuws",
                "is opgelost",
                "zijn opgelost",
                "werd opgelost",
                "geen problemen meer",
                "geen klachten meer",
                "geen overlast meer",
                "geen zorgen meer",
                "gaat nu goed",
                "gaat goed",
                "gaat beter",
                "gaat veel beter",
                "loopt nu goed",
                "loopt goed",
                "volledig betaald",
                "afbetaald",
                "terug in orde",
                "in orde gebracht",
                "positieve evolutie",
                "is verbeterd",
                "ondertussen geregeld",
            ]),
            action_plan: list(&["handelingsplan", "handelingsdoelen"]),
            housing_goal: list(&[
                "huur",
                "huurachterstal",
                "afbetalingsplan",
                "woning",
                "onderhoud",
                "buren",
                "burenrelatie",
                "overlast",
                "verhuurder",
                "voorwaarde",
                "huisbezoek",
                "woonvaardigheden",
                "budget",
                "schoonmaak",
            ]),
            titles: list(&[
                "de heer", "meneer", "mijnheer", "mevrouw", "mevr.", "mevr", "mw.", "dhr.", "dhr",
                "mr.", "juffrouw", "madame", "monsieur", "mme",
            ]),
            out_of_office: list(&[
                "afwezigheidsbericht",
                "automatisch antwoord",
                "ben afwezig tot",
                "ben afwezig van",
                "ben momenteel afwezig",
                "ben niet op kantoor",
                "ben met verlof tot",
                "ben met vakantie tot",
                "afwezig tot en met",
                "ben terug op",
                "ben opnieuw bereikbaar vanaf",
                "wordt niet doorgestuurd",
                "worden niet doorgestuurd",
                "beperkt toegang tot mijn mail",
                "geen toegang tot mijn mail",
                "out of office",
                "out of the office",
                "i am currently away",
                "i am away until",
                "limited access to email",
                "limited access to e-mail",
                "automatic reply",
                "je suis absent",
                "je suis absente",
                "je serai absent",
                "je serai absente",
                "absent du bureau",
                "réponse automatique",
                "de retour le",
                "abwesenheitsnotiz",
                "bin abwesend",
                "nicht im büro",
                "automatische antwort",
                "keinen zugriff auf meine e-mails",
            ]),
            out_of_office_redirect: list(&[
                "voor dringende",
                "in dringende gevallen",
                "bij dringende",
                "for urgent",
                "en cas d'urgence",
                "pour toute urgence",
                "in dringenden fällen",
            ]),
            handover: list(&[
                "overdracht van de begeleiding",
                "overdracht begeleiding",
                "overdracht van het dossier",
                "begeleiding niet verderzetten",
                "begeleiding niet langer verderzetten",
                "begeleiding niet meer verderzetten",
                "begeleiding niet langer opnemen",
                "begeleiding niet verder opnemen",
                "neemt de begeleiding over",
                "nemen de begeleiding over",
                "nemen wij de begeleiding over",
                "nemen we de begeleiding over",
                "neem ik de begeleiding over",
                "de begeleiding overnemen",
                "begeleiding overgedragen",
                "zet de begeleiding verder",
                "zetten de begeleiding verder",
                "volgt de begeleiding op",
                "volgen de begeleiding op",
            ]),
            cir_labels: list(&[
                "inschrijvingsnummer",
                "inschrijvingsnr",
                "inschrijvingsnr.",
                "inschrijving",
                "cir",
                "cir-nummer",
                "cir-nr",
                "cir-nr.",
                "kandidatennummer",
            ]),
            confidence_threshold: 0.6,
            closing: list(&[
                "sluiten het dossier af",
                "sluiten de begeleiding af",
                "afgerond",
                "afsluiten",
                "afgesloten",
                "einde begeleiding",
                "begeleiding beëindigd",
            ]),
        }
    }
}

impl Keywords {
    /// Start from the defaults; every list the admin wrote replaces the default list.
    pub fn from_raw(raw: RawTriage) -> Self {
        let lower = |v: Vec<String>| v.into_iter().map(|s| s.to_lowercase()).collect();
        let mut k = Keywords::default();
        if let Some(t) = raw.confidence_threshold {
            k.confidence_threshold = t.clamp(0.0, 1.0);
        }
        let pairs = [
            (raw.referral_words, &mut k.referral),
            (raw.urgent_words, &mut k.urgent),
            (raw.concern_words, &mut k.concern),
            (raw.good_news_words, &mut k.good_news),
            (raw.contact_change_words, &mut k.contact_change),
            (raw.handover_words, &mut k.handover),
            (raw.final_report_words, &mut k.final_report),
            (raw.discussion_words, &mut k.discussion),
            (raw.lease_start_words, &mut k.lease_start),
            (raw.conclusion_words, &mut k.conclusion),
            (raw.bulk_words, &mut k.bulk),
            (raw.preventive_request_words, &mut k.preventive_request),
            (raw.take_on_words, &mut k.take_on),
            (raw.decline_words, &mut k.decline),
            (raw.action_plan_words, &mut k.action_plan),
            (raw.housing_goal_words, &mut k.housing_goal),
            (raw.closing_words, &mut k.closing),
            (raw.titles, &mut k.titles),
            (raw.out_of_office_words, &mut k.out_of_office),
            (
                raw.out_of_office_redirect_words,
                &mut k.out_of_office_redirect,
            ),
            (raw.cir_labels, &mut k.cir_labels),
        ];
        for (given, slot) in pairs {
            if let Some(words) = given {
                *slot = lower(words);
            }
        }
        k
    }
}
