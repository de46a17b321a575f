//! The optional Prometheus endpoint (`[metrics] listen`, off by default): mails decided by kind,
//! quarantined, outbox depth and failures, the last contact with the mailbox, job runs.
//!
//! Owns the text exposition format ([`render`], pure) and a minimal HTTP/1.1 responder: every
//! request, whatever its path, gets the current figures, read from the store at that moment.
//! Never changes anything and never answers with case data (only counts).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::store::{Counts, Store};

/// What one scrape reports, as read from the store.
#[derive(Debug, Default)]
pub struct Figures {
    pub counts: Counts,
    pub by_kind: Vec<(String, i64)>,
    pub job_runs: Vec<(String, String, i64)>,
    pub health: BTreeMap<String, (String, DateTime<Utc>)>,
}

/// A label value with `\`, `"` and newlines escaped (the exposition format's rule).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The figures in Prometheus' text exposition format (version 0.0.4). Pure.
pub fn render(f: &Figures) -> String {
    let mut s = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(s, "{name}{labels} {value}");
        }
    };
    let by_kind: Vec<(String, f64)> = f
        .by_kind
        .iter()
        .map(|(k, n)| (format!("{{kind=\"{}\"}}", label(k)), *n as f64))
        .collect();
    metric(
        "doorstroom_mails_total",
        "counter",
        "Mails read from the shared mailbox, by the kind they were decided as.",
        &by_kind,
    );
    let c = &f.counts;
    metric(
        "doorstroom_mails_quarantined",
        "gauge",
        "Mails in quarantine, waiting for a person.",
        &[(String::new(), c.mails_quarantined as f64)],
    );
    metric(
        "doorstroom_outbox_waiting",
        "gauge",
        "Outgoing mails queued or being sent.",
        &[(String::new(), c.outbox_waiting as f64)],
    );
    metric(
        "doorstroom_outbox_failed",
        "gauge",
        "Outgoing mails whose delivery failed for good.",
        &[(String::new(), c.outbox_failed as f64)],
    );
    let mut samples = Vec::new();
    if let Some(t) = c.last_mail_at {
        samples.push((String::new(), t.timestamp() as f64));
    }
    metric(
        "doorstroom_last_mail_timestamp_seconds",
        "gauge",
        "When the newest mail arrived (Unix time).",
        &samples,
    );
    let contact = f
        .health
        .iter()
        .filter(|(k, _)| k.starts_with("intake."))
        .map(|(_, (_, at))| *at)
        .max();
    let samples: Vec<(String, f64)> = contact
        .map(|t| (String::new(), t.timestamp() as f64))
        .into_iter()
        .collect();
    metric(
        "doorstroom_mailbox_contact_timestamp_seconds",
        "gauge",
        "When intake last reported on the mailbox (connected, error, a pass; Unix time).",
        &samples,
    );
    let up = f
        .health
        .get("intake.error")
        .is_none_or(|(v, _)| v.trim().is_empty());
    metric(
        "doorstroom_mailbox_up",
        "gauge",
        "1 when intake reports no error on the mailbox.",
        &[(String::new(), if up { 1.0 } else { 0.0 })],
    );
    let runs: Vec<(String, f64)> = f
        .job_runs
        .iter()
        .map(|(job, outcome, n)| {
            (
                format!("{{job=\"{}\",outcome=\"{}\"}}", label(job), label(outcome)),
                *n as f64,
            )
        })
        .collect();
    metric(
        "doorstroom_job_runs_total",
        "counter",
        "Runs of the periodic jobs, by job and outcome.",
        &runs,
    );
    s
}

async fn figures(store: &Store) -> crate::store::Result<Figures> {
    Ok(Figures {
        counts: store.counts().await?,
        by_kind: store.mails_by_kind().await?,
        job_runs: store.job_runs_by_outcome().await?,
        health: store.health().await?,
    })
}

/// Answer scrapes on `listener` until `stop`.
pub async fn serve(listener: TcpListener, store: Store, stop: CancellationToken) {
    loop {
        let (mut stream, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("metrics: cannot accept a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let store = store.clone();
        tokio::spawn(async move {
            // The request itself does not matter; read what came so the client is not reset.
            let mut buf = [0u8; 2048];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
                .await;
            let (status, body) = match figures(&store).await {
                Ok(f) => ("200 OK", render(&f)),
                Err(e) => ("503 Service Unavailable", format!("database: {e}\n")),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_prometheus_text_with_one_sample_per_kind_and_job_outcome() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut health = BTreeMap::new();
        health.insert(
            "intake.error".to_string(),
            ("login \"failed\"".to_string(), at),
        );
        let f = Figures {
            counts: Counts {
                mails_quarantined: 2,
                outbox_waiting: 3,
                outbox_failed: 1,
                last_mail_at: Some(at),
                ..Counts::default()
            },
            by_kind: vec![("concern".into(), 4), ("referral".into(), 7)],
            job_runs: vec![("digest".into(), "ok".into(), 5)],
            health,
        };
        let text = render(&f);
        for line in [
            "# TYPE doorstroom_mails_total counter",
            "doorstroom_mails_total{kind=\"referral\"} 7",
            "doorstroom_mails_total{kind=\"concern\"} 4",
            "doorstroom_mails_quarantined 2",
            "doorstroom_outbox_waiting 3",
            "doorstroom_outbox_failed 1",
            "doorstroom_last_mail_timestamp_seconds 1796461200",
            "doorstroom_mailbox_contact_timestamp_seconds 1796461200",
            "doorstroom_mailbox_up 0",
            "doorstroom_job_runs_total{job=\"digest\",outcome=\"ok\"} 5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert!(
            !text.contains("failed\\\""),
            "no health values in labels: {text}"
        );
    }
}
