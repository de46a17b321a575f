//! The load run of `examples/load` at CI size (5 partners, 100 running cases): the same driver,
//! judged on what it did, not how fast (the figures are the example's, in README "Reliability").

#[path = "../../examples/load/driver.rs"]
#[allow(dead_code)]
mod driver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_of_traffic_for_five_partners_is_decided_sent_and_agendad_for_each_partner() {
    let size = driver::Size {
        partners: 5,
        cases: 100,
    };
    let dir = tempfile::tempdir().unwrap();
    let report = driver::run(size, dir.path(), None, &crate::db::unique_org("load")).await;
    assert_eq!(
        report.running_cases, 100,
        "every referral became a running case: {report:?}"
    );
    assert_eq!(report.undecided, 0, "{report:?}");
    assert_eq!(report.quarantined, 0, "{report:?}");
    assert!(
        report.sent > 200,
        "acknowledgements and notices went out: {report:?}"
    );
    assert_eq!(report.not_sent, 0, "{report:?}");
    assert_eq!(report.agendas, 5, "{report:?}");
    assert_eq!(report.agendas_naming_others, 0, "{report:?}");
}
