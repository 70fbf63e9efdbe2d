//! `junit.xml`: one test suite per scenario, one test case per seed; a failure's text holds the
//! violation and the replay command. Every case has its run's wall-clock `time=` (CI dashboards
//! sort and flag slow tests by it) and every suite the sum; there is no timestamp. Apart from
//! the `time=` attributes the file is deterministic.

use crate::record::RunRecord;
use crate::stats::ScenarioStats;
use crate::{replay_command, SweepInfo};
use faultline_sim::check::Verdict;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The JUnit XML report.
pub fn xml(info: &SweepInfo, stats: &[ScenarioStats], records: &[RunRecord], replay_dir: &str) -> String {
    let mut report = Report::new("faultline sweep");
    let mut total_us = 0u64;
    for st in stats {
        let mut suite = TestSuite::new(st.name.as_str());
        let mut suite_us = 0u64;
        suite.add_property(("protocol", st.protocol.as_str()));
        suite.add_property(("seeds", info.seeds().as_str()));
        for &i in &st.records {
            let row = &records[i].row;
            let status = match row.verdict() {
                Verdict::Pass => TestCaseStatus::success(),
                v => {
                    let mut s = TestCaseStatus::non_success(if v == Verdict::Fail {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    });
                    let what =
                        if row.invariant.is_empty() { "inconclusive".to_string() } else { row.invariant.clone() };
                    s.set_message(format!("{what}: {}", row.detail));
                    s.set_type(if v == Verdict::Fail { "violation" } else { "inconclusive" });
                    let mut text = what.clone();
                    if let Some(t) = row.at_ms {
                        text += &format!(" at {t} ms");
                    }
                    if let Some(n) = row.node {
                        text += &format!(" on node n{n}");
                    }
                    text += &format!(": {}\ntrace hash {}", row.detail, row.trace_hash);
                    if !row.swarm.is_empty() {
                        text += &format!("\nswarm: {}", row.swarm);
                    }
                    if !row.repro.is_empty() {
                        text += &format!("\nreplay: {}", replay_command(&info.binary, replay_dir, &row.repro));
                    }
                    s.set_description(text);
                    s
                }
            };
            let mut case = TestCase::new(format!("seed={}", row.seed), status);
            case.set_classname(st.name.as_str());
            case.set_time(Duration::from_micros(records[i].wall_us));
            suite_us += records[i].wall_us;
            suite.add_test_case(case);
        }
        suite.set_time(Duration::from_micros(suite_us));
        total_us += suite_us;
        report.add_test_suite(suite);
    }
    report.set_time(Duration::from_micros(total_us));
    report.to_string().expect("a JUnit report serializes")
}
