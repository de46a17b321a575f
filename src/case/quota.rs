//! The monthly quota (maandelijks contingent): referrals per partner per calendar month,
//! compared with the partner's `monthly_quota`. Over quota is flagged to the coordinator, never
//! refused: the candidate's turn has come and the referral stands.
//!
//! Pure: the caller counts the month's earlier referrals (in the organisation's time zone).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::notice::Notice;
use crate::config::Partner;

/// A calendar month, `YYYY-MM` when printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The month an instant falls in, in the organisation's time zone (a referral at 23:30 UTC
    /// on 31 December is a January referral in Brussels).
    pub fn of_instant(at: DateTime<Utc>, tz: Tz) -> Month {
        Month::of(at.with_timezone(&tz).date_naive())
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One referral measured against the partner's quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaCheck {
    pub partner: String,
    pub partner_name: String,
    pub month: Month,
    /// Referrals this month including this one.
    pub count: u32,
    pub quota: Option<u32>,
    pub over: bool,
}

/// Measure a new referral: `earlier` is the number of this partner's referrals already counted
/// in `month`.
pub fn check(partner: &Partner, month: Month, earlier: u32) -> QuotaCheck {
    let count = earlier.saturating_add(1);
    QuotaCheck {
        partner: partner.id.clone(),
        partner_name: partner.name.clone(),
        month,
        count,
        quota: partner.monthly_quota,
        over: partner.monthly_quota.is_some_and(|q| count > q),
    }
}

impl QuotaCheck {
    /// `quota_exceeded` for the coordinator: once per partner and month (the first referral over).
    /// The notice, about the partner and month and not about the referral that
    /// went over: its effect key holds no case, so the coordinator hears it once per partner
    /// and month however many referrals follow (the referral's own notice says it is over).
    pub fn notice(&self) -> Option<Notice> {
        self.over.then(|| Notice {
            template: "quota_exceeded".into(),
            case_ref: None,
            to: vec![crate::case::Role::Coordinator],
            to_sender: false,
            urgent: false,
            data: serde_json::json!({
                "partner_name": self.partner_name,
                "month": self.month.to_string(),
                "count": self.count,
                "quota": self.quota,
            }),
            dedupe: format!("quota:{}:{}", self.partner, self.month),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn partner(quota: Option<u32>) -> Partner {
        Partner {
            id: "caw".into(),
            name: "CAW Antwerpen".into(),
            domains: vec![],
            addresses: vec![],
            agenda_to: vec![],
            monthly_quota: quota,
            programme: "vivendo".into(),
            teams_link: None,
            meeting_place: None,
        }
    }

    #[test]
    fn the_third_referral_of_a_month_with_quota_2_is_flagged_not_refused() {
        let m = Month {
            year: 2026,
            month: 12,
        };
        assert!(!check(&partner(Some(2)), m, 1).over);
        let third = check(&partner(Some(2)), m, 2);
        assert!(third.over);
        let n = third.notice().unwrap();
        assert_eq!(n.dedupe, "quota:caw:2026-12");
        assert_eq!(n.data["count"], 3);
        assert_eq!(n.data["month"], "2026-12");
    }

    #[test]
    fn quota_exceeded_is_one_effect_per_partner_and_month_whatever_the_referral() {
        let m = Month {
            year: 2026,
            month: 12,
        };
        let third = check(&partner(Some(2)), m, 2).notice().unwrap();
        let tenth = check(&partner(Some(2)), m, 9).notice().unwrap();
        assert_eq!(third.effect_key(), tenth.effect_key());
        assert_eq!(third.case_ref, None);
        let next_month = Month {
            year: 2027,
            month: 1,
        };
        let january = check(&partner(Some(2)), next_month, 2).notice().unwrap();
        assert_ne!(third.effect_key(), january.effect_key());
    }

    #[test]
    fn a_partner_without_quota_is_never_over() {
        let c = check(
            &partner(None),
            Month {
                year: 2026,
                month: 1,
            },
            500,
        );
        assert!(!c.over);
        assert!(c.notice().is_none());
    }

    #[test]
    fn new_years_eve_late_evening_utc_counts_for_january_in_brussels() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap();
        assert_eq!(
            Month::of_instant(at, chrono_tz::Europe::Brussels).to_string(),
            "2027-01"
        );
    }
}
