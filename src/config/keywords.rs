//! Keyword lists that steer classification, with Dutch (Flemish) defaults an admin can replace in
//! the `[triage]` table of the config. Config owns them (they are validated with it); the
//! classifier in [`crate::understand`] reads them.

use super::raw::RawTriage;

/// Lowercase phrases; a mail matches a list when its text contains one of them as words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keywords {
    pub referral: Vec<String>,
    pub urgent: Vec<String>,
    pub concern: Vec<String>,
    pub contact_change: Vec<String>,
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
        let pairs = [
            (raw.referral_words, &mut k.referral),
            (raw.urgent_words, &mut k.urgent),
            (raw.concern_words, &mut k.concern),
            (raw.contact_change_words, &mut k.contact_change),
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
        ];
        for (given, slot) in pairs {
            if let Some(words) = given {
                *slot = lower(words);
            }
        }
        k
    }
}
