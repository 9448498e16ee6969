//! `indu view` through the binary: the page is one self-contained file (no URL, no external
//! source), its embedded JSON parses and is shaped like the model (heads, patterns that
//! decode to attention rows, the scrubber's dynamics and snapshots), and bad input exits 2
//! with one line and writes nothing.
use crate::util::{changed, fails, run_ok, snapshot, tiny_run};
use std::path::Path;

const TRACKED: [&str; 8] = [
    "--set",
    "train.eval_every=5",
    "--set",
    "train.eval_size=32",
    "--set",
    "train.snapshot_every=6",
    "--set",
    "train.checkpoint_every=12",
];

/// The JSON block the page embeds.
fn data(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="indu-data">"#;
    let start = html.find(open).expect("data block") + open.len();
    let len = html[start..].find("</script>").expect("data block closed");
    serde_json::from_str(&html[start..start + len]).expect("the data parses")
}

/// Standard base64 (what the page's `atob` reads).
fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk
            .iter()
            .map(|&c| if c == b'=' { 0 } else { u32::from(val(c)) })
            .fold(0u32, |n, v| (n << 6) | v);
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    out
}

#[test]
fn the_page_is_self_contained_and_shaped_like_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = tiny_run(d, "induction", 12, "runs/a", &TRACKED);
    let out = run_ok(d, &["view", "--run", "runs/a", "--scrubber"]);
    assert!(out.contains("wrote runs/a/view.html"), "{out}");
    let html = std::fs::read_to_string(run.join("view.html")).unwrap();
    for banned in ["http://", "https://", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "the page holds {banned:?}");
    }
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    assert!(html.contains("Content-Security-Policy"));
    let v = data(&html);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(
        (v["n_layers"].as_u64(), v["n_heads"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(v["heads"]["scores"]["n_layers"], 2);
    let induction = &v["heads"]["scores"]["scores"]["induction"]["with_bos"];
    assert_eq!(induction.as_array().unwrap().len(), 2);
    assert_eq!(induction[0].as_array().unwrap().len(), 1);
    // The final model's patterns: one per head, each row of the causal triangle sums to 1.
    let pos = v["input"]["tokens"].as_array().unwrap().len();
    assert_eq!(v["input"]["labels"].as_array().unwrap().len(), pos);
    let heads = v["patterns"]["heads"].as_array().unwrap();
    assert_eq!(heads.len(), 2);
    assert_eq!(v["patterns"]["step"], 12);
    for h in heads {
        let bytes = unbase64(h.as_str().unwrap());
        assert_eq!(bytes.len(), pos * (pos + 1) / 2);
        let mut i = 0;
        for q in 0..pos {
            let row: u32 = bytes[i..=i + q].iter().map(|&b| u32::from(b)).sum();
            i += q + 1;
            let slack = (q as u32 + 1).div_ceil(2) + 1;
            assert!(row.abs_diff(255) <= slack, "row {q} sums to {row}/255");
        }
    }
    // The scrubber: every tracked step, the snapshots before the last step.
    assert_eq!(v["scrubber"], true);
    let steps: Vec<u64> = v["dynamics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [0, 5, 10, 12]);
    let snaps: Vec<u64> = v["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_u64().unwrap())
        .collect();
    assert_eq!(snaps, [0, 6]);
    assert_eq!(v["colormaps"]["viridis"][0], "#440154");
    assert!(v["curves"]["eval_loss"].as_array().unwrap().len() >= 2);
    assert!(v["summary"]["steps_per_s"].as_f64().is_some());

    // --json, another input and --out into a new folder.
    let json = run_ok(
        d,
        &[
            "view",
            "--run",
            "runs/a",
            "--probe",
            "--out",
            "out/v.html",
            "--json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let page = std::fs::read_to_string(d.join("out/v.html")).unwrap();
    assert_eq!(report["bytes"].as_u64(), Some(page.len() as u64));
    assert_eq!(report["snapshot_patterns"], 2);
    assert!(data(&page)["input"]["source"]
        .as_str()
        .unwrap()
        .contains("probe"));
}

/// `indu view ARGS` fails with one line and leaves `d` as it was.
fn refused(d: &Path, args: &[&str], expect: &str) {
    let before = snapshot(d);
    let err = fails(d, args);
    assert!(err.contains(expect), "{args:?}: {err}");
    let after = snapshot(d);
    assert!(
        changed(&before, &after).is_empty(),
        "{args:?} wrote {:?}",
        changed(&before, &after)
    );
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("not-a-run")).unwrap();
    std::fs::write(d.join("not-a-run/notes.txt"), "x").unwrap();
    refused(d, &["view", "--run", "not-a-run"], "holds no trained model");
    refused(d, &["view", "--run", "missing"], "does not exist");
    tiny_run(
        d,
        "induction",
        4,
        "runs/plain",
        &[
            "--set",
            "train.track_every=0",
            "--set",
            "train.eval_every=2",
        ],
    );
    refused(
        d,
        &["view", "--run", "runs/plain", "--scrubber"],
        "--scrubber",
    );
    refused(
        d,
        &["view", "--run", "runs/plain", "--text", "abc#"],
        "--text",
    );
    refused(
        d,
        &["view", "--run", "runs/plain", "--probe", "--sample"],
        "--sample",
    );
    std::fs::write(d.join("afile"), "x").unwrap();
    refused(
        d,
        &["view", "--run", "runs/plain", "--out", "afile/v.html"],
        "afile",
    );
    // Without --scrubber the untracked run gets a page without one.
    run_ok(d, &["view", "--run", "runs/plain"]);
    let v = data(&std::fs::read_to_string(d.join("runs/plain/view.html")).unwrap());
    assert_eq!(v["scrubber"], false);
    assert!(v["dynamics"].as_array().unwrap().is_empty());
}
