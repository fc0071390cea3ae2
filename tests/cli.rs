#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
//! The `umbatch` binary: exit codes and output of `check` and `inspect`.

mod common;

use assert_cmd::Command;

fn umbatch() -> Command {
    Command::cargo_bin("umbatch").unwrap()
}

/// Runs the command, asserts its exit status and returns its standard output as text.
fn stdout_of(cmd: &mut Command, code: i32) -> String {
    String::from_utf8(cmd.assert().code(code).get_output().stdout.clone()).unwrap()
}

#[test]
fn check_exits_0_on_clean_files_and_1_on_errors() {
    let Some(c) = common::corpus() else { return };
    umbatch()
        .arg("check")
        .arg(c.join("x217/stupidedi-1.x12"))
        .arg(c.join("ack/staedi-simple-999.x12"))
        .arg(c.join("other/stupidedi-x216-notification-1.x12"))
        .assert()
        .code(0);
    let text = stdout_of(
        umbatch()
            .arg("check")
            .arg(c.join("x217/stupidedi-1.x12"))
            .arg(c.join("defects/stupidedi-head-request-for-home-health-care.x12")),
        1,
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("request-for-home-health-care.x12:byte 632: error[se-count]"),
        "{text}"
    );
    assert!(
        text.contains("ST02 0001, segment 20 SE, element SE01, IK5 4"),
        "{text}"
    );
}

#[test]
fn check_json_has_positions_and_ack_codes() {
    let Some(c) = common::corpus() else { return };
    let out = stdout_of(
        umbatch()
            .args(["check", "--format", "json"])
            .arg(c.join("defects/imsweb-999-iea-mismatch.x12")),
        1,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["code"], "iea-control-number");
    assert_eq!(v["severity"], "error");
    assert_eq!(v["byte_offset"], 282);
    assert_eq!(v["interchange"], "000000286");
    assert_eq!(v["ack"]["kind"], "ta1");
    assert_eq!(v["ack"]["note"], "001");
}

#[test]
fn lenient_flag_reads_collapsed_isa() {
    let Some(c) = common::corpus() else { return };
    let f = c.join("defects/stupidedi-999-collapsed-isa.x12");
    umbatch().arg("check").arg(&f).assert().code(1);
    umbatch()
        .args(["check", "--lenient"])
        .arg(&f)
        .assert()
        .code(0);
}

#[test]
fn missing_file_is_an_error_line_not_a_crash() {
    let out = stdout_of(umbatch().args(["check", "/nonexistent/file.x12"]), 1);
    assert!(out.contains("error[io]"));
}

#[test]
fn inspect_prints_one_object_per_transaction() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = stdout_of(
        umbatch()
            .arg("inspect")
            .arg(root.join("samples/x12/three-interchanges.x12")),
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["model"]["events"][0]["review"]["category"], "AR");
    assert_eq!(arr[1]["interchange"], "000000302");
    assert_eq!(
        arr[2]["model"]["events"][0]["services"][0]["institutional"]["revenue_code"],
        "0720"
    );
    let text = stdout_of(
        umbatch()
            .args(["inspect", "--lines"])
            .arg(root.join("samples/x12/valley-clinic-batch.x12")),
        0,
    );
    assert_eq!(text.lines().count(), 4);
    for l in text.lines() {
        let o: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(o["set_id"], "278");
    }
}

#[test]
fn check_validates_fax_exports_row_by_row() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = stdout_of(
        umbatch()
            .arg("check")
            .arg(root.join("samples/fax/valley-fax-queue-2026-11-20.csv")),
        1,
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains(":row 39: error[fax-row]: unknown `request_type`"),
        "{text}"
    );
    assert!(
        lines[1].contains(":row 40: error[fax-row]: unparseable `member_dob`"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "just some notes\n").unwrap();
    let out = stdout_of(umbatch().arg("check").arg(&other), 1);
    assert!(out.contains("error[unrecognised]"));
}
