#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! Acceptance tests over the public corpus (`../shared/corpus`, see PROVENANCE.tsv) and the
//! reference examples: what a correct reader must report for each file.

mod common;

use common::*;
use umbatch::diag::{AckCode, Severity};

#[test]
fn every_x217_file_reads_without_error() {
    let Some(corpus) = corpus() else { return };
    let files = files_in(&corpus.join("x217"));
    assert!(
        files.len() >= 19,
        "expected the 19 x217 files, found {}",
        files.len()
    );
    for f in files {
        let c = check_file(&f, false);
        let errors: Vec<String> = c
            .diagnostics
            .items()
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        // stupidedi-6 is BHT02 36 (authority to deduct): read, counted apart, not decided.
        let read = c.counts.requests + c.counts.other_requests + c.counts.responses;
        assert!(read >= 1, "{}", f.display());
        assert_eq!(c.counts.passed_over, 0, "{}", f.display());
    }
}

#[test]
fn prose_before_the_isa_is_a_warning_and_the_file_is_read() {
    let Some(corpus) = corpus() else { return };
    for name in ["stupidedi-4ar.x12", "stupidedi-4br.x12"] {
        let c = check_file(&corpus.join("x217").join(name), false);
        let first = &c.diagnostics.items()[0];
        assert_eq!(first.code, "preamble");
        assert_eq!(first.severity, Severity::Warning);
        assert_eq!(c.counts.responses, 1);
    }
}

#[test]
fn every_ack_file_reads_without_error() {
    let Some(corpus) = corpus() else { return };
    for f in files_in(&corpus.join("ack")) {
        let c = check_file(&f, false);
        assert_eq!(error_codes(&c), Vec::<&str>::new(), "{}", f.display());
        assert!(c.counts.acknowledgments >= 1, "{}", f.display());
    }
}

#[test]
fn other_files_are_passed_over_with_a_note() {
    let Some(corpus) = corpus() else { return };
    for f in files_in(&corpus.join("other")) {
        let c = check_file(&f, false);
        assert_eq!(error_codes(&c), Vec::<&str>::new(), "{}", f.display());
        let notes: Vec<_> = c
            .diagnostics
            .items()
            .iter()
            .filter(|d| d.severity == Severity::Note && d.code == "passed-over")
            .collect();
        assert_eq!(notes.len(), 1, "{}", f.display());
        assert!(notes[0].message.contains("X216"), "{}", notes[0].message);
        assert!(
            notes[0].message.contains("005010X216"),
            "{}",
            notes[0].message
        );
        assert_eq!(c.counts.requests, 0);
        assert_eq!(c.counts.passed_over, 1);
    }
}

#[test]
fn se01_defects_give_exactly_one_count_error() {
    let Some(corpus) = corpus() else { return };
    for (name, says, has) in [
        ("stupidedi-head-admission-request-for-review.x12", 25, 26),
        ("stupidedi-head-request-for-home-health-care.x12", 19, 20),
    ] {
        let c = check_file(&corpus.join("defects").join(name), false);
        assert_eq!(error_codes(&c), vec!["se-count"], "{name}");
        let d = c.diagnostics.items().iter().find(|d| d.is_error()).unwrap();
        assert!(d.message.contains(&format!("says {says}")), "{}", d.message);
        assert!(d.message.contains(&format!("has {has}")), "{}", d.message);
        assert_eq!(d.ack, Some(AckCode::Ik5 { code: "4" }));
        assert_eq!(d.location.segment_id.as_deref(), Some("SE"));
        assert_eq!(d.location.segment_position, Some(has));
        assert_eq!(d.location.transaction.as_deref(), Some("0001"));
        assert_eq!(d.location.group.as_deref(), Some("20213"));
        assert_eq!(d.location.interchange.as_deref(), Some("000010216"));
    }
}

#[test]
fn service_level_chained_under_service_level_is_reported() {
    let Some(corpus) = corpus() else { return };
    let c = check_file(
        &corpus.join("defects/stupidedi-head-request-for-non-emergency-transportation.x12"),
        false,
    );
    let errs: Vec<_> = c
        .diagnostics
        .items()
        .iter()
        .filter(|d| d.is_error())
        .collect();
    // HL*6*5*SS and HL*7*6*SS: wrong parent level, twice; HL*5 and HL*6 say HL04=0 yet have children.
    let parents: Vec<u32> = errs
        .iter()
        .filter(|d| d.code == "hl-parent")
        .map(|d| d.location.segment_position.unwrap())
        .collect();
    let child_codes: Vec<u32> = errs
        .iter()
        .filter(|d| d.code == "hl-child-code")
        .map(|d| d.location.segment_position.unwrap())
        .collect();
    assert_eq!(parents, vec![30, 32]);
    assert_eq!(child_codes, vec![28, 30]);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(errs[0].message.contains("has parent 2000F"));
}

#[test]
fn bad_hierarchy_with_dependent_is_reported() {
    let Some(corpus) = corpus() else { return };
    let c = check_file(&corpus.join("defects/mjkubba-278-bad-hierarchy.x12"), false);
    let errs: Vec<_> = c
        .diagnostics
        .items()
        .iter()
        .filter(|d| d.is_error())
        .collect();
    let has = |code: &str, pos: u32| {
        errs.iter()
            .any(|d| d.code == code && d.location.segment_position == Some(pos))
    };
    assert!(
        has("hl-child-code", 14),
        "HL*4*3*23*0 has a child: {errs:#?}"
    );
    assert!(has("hl-parent", 19), "HL*5*4*SS: SS under a dependent");
    assert!(has("hl-level", 29), "HL*6*5*PT: PT is not a 278 level");
    assert!(has("segment-unexpected", 10), "TRN at 2000C");
    assert!(has("segment-unexpected", 15), "TRN at 2000D");
    assert!(
        errs.iter().any(|d| d.code == "loop-missing"),
        "no 2000E at all"
    );
}

#[test]
fn iea_mismatch_gives_ta1_001() {
    let Some(corpus) = corpus() else { return };
    let c = check_file(&corpus.join("defects/imsweb-999-iea-mismatch.x12"), false);
    assert_eq!(error_codes(&c), vec!["iea-control-number"]);
    let d = c.diagnostics.items().iter().find(|d| d.is_error()).unwrap();
    assert_eq!(d.ack, Some(AckCode::Ta1 { note: "001" }));
}

#[test]
fn invalid_999_is_reported() {
    let Some(corpus) = corpus() else { return };
    let c = check_file(&corpus.join("defects/staedi-invalid-999.x12"), false);
    let codes = error_codes(&c);
    // What PROVENANCE.tsv lists: IK5 before AK1, extra AK2 elements, wrong SE01.
    assert!(codes.contains(&"se-count"), "{codes:?}");
    assert!(codes.contains(&"segment-order"), "{codes:?}");
    assert!(codes.contains(&"element-count"), "{codes:?}");
    // Two more true defects the provenance line does not list: IK5*Q and a second IK5.
    assert!(codes.contains(&"element-code"), "{codes:?}");
    assert!(codes.contains(&"segment-repeated"), "{codes:?}");
    assert_eq!(codes.len(), 5, "{codes:?}");
}

#[test]
fn collapsed_isa_is_an_error_unless_lenient() {
    let Some(corpus) = corpus() else { return };
    let f999 = corpus.join("defects/stupidedi-999-collapsed-isa.x12");
    let strict = check_file(&f999, false);
    assert_eq!(error_codes(&strict), vec!["isa-not-fixed-width"]);
    let d = strict
        .diagnostics
        .items()
        .iter()
        .find(|d| d.is_error())
        .unwrap();
    assert_eq!(d.ack, Some(AckCode::Ta1 { note: "022" }));
    assert_eq!(strict.counts.acknowledgments, 0);
    let lenient = check_file(&f999, true);
    assert_eq!(error_codes(&lenient), Vec::<&str>::new());
    assert_eq!(lenient.counts.acknowledgments, 1, "one valid 999");
    assert!(lenient
        .diagnostics
        .items()
        .iter()
        .any(|d| d.code == "isa-not-fixed-width" && d.severity == Severity::Warning));

    let ta1 = corpus.join("defects/uhin-ta1-collapsed-isa.x12");
    assert_eq!(
        error_codes(&check_file(&ta1, false)),
        vec!["isa-not-fixed-width"]
    );
    assert_eq!(error_codes(&check_file(&ta1, true)), Vec::<&str>::new());
}

#[test]
fn reference_examples_read_clean() {
    let Some(ex) = examples() else { return };
    let files = files_in(&ex);
    assert_eq!(files.len(), 5);
    for f in files {
        let c = check_file(&f, false);
        assert!(
            c.diagnostics.is_empty(),
            "{}: {:?}",
            f.display(),
            c.diagnostics.items()
        );
    }
}

#[test]
fn samples_read_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/x12");
    let mut requests = 0;
    for f in files_in(&dir) {
        let c = check_file(&f, false);
        assert!(
            c.diagnostics.is_empty(),
            "{}: {:?}",
            f.display(),
            c.diagnostics.items()
        );
        requests += c.counts.requests;
    }
    assert_eq!(requests, 10);
}
