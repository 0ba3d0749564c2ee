//! Integrity: damaged models, runaway fits, broken CSV quoting, class explosions, closed pipes,
//! interrupted saves, odd targets, and the flags and inputs that used to be misread. One test per
//! reproduction of the integrity issue's table, so that none of them comes back.

use crate::util::*;

/// Row 1 and 9: any single flipped bit in a model file is refused with exit 2 (a weight, a bias,
/// an idf value, a header value such as a label name, the checksums themselves).
#[test]
fn a_damaged_model_is_refused() {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let bytes = std::fs::read(&model).unwrap();
    let label_at = bytes
        .windows(10)
        .position(|w| w == b"casualties")
        .expect("the header names a label");
    let article = fx("article.txt");
    for (what, at, bit) in [
        ("the last bias value", bytes.len() - 45, 6),
        ("a weight", bytes.len() / 2, 0),
        ("a label name in the header", label_at, 1),
        ("the header checksum", bytes.len() - 1, 3),
    ] {
        let mut b = bytes.clone();
        b[at] ^= 1 << bit;
        write(dir.path(), "bad.newsclass", &b);
        let out = run(
            dir.path(),
            &["predict", "--model", "bad.newsclass", &article],
        );
        let line = assert_user_error(&out, &["bad.newsclass"]);
        assert!(
            line.contains("damaged") || line.contains("not a valid newsclass model"),
            "{what}: {line}"
        );
    }
    // Trailing bytes are refused too.
    let mut b = bytes;
    b.extend_from_slice(b"\0\0\0\0");
    write(dir.path(), "bad.newsclass", &b);
    let out = run(
        dir.path(),
        &["predict", "--model", "bad.newsclass", &article],
    );
    assert_user_error(&out, &["bad.newsclass"]);
}

/// Row 2: a fit that diverges (absurd C) fails and leaves the existing model as it was.
#[test]
fn a_diverging_fit_keeps_the_existing_model() {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let before = std::fs::read(&model).unwrap();
    let out = run_train(dir.path(), "m.newsclass", &["--c", "1e308"]);
    assert!(!out.status.success(), "a diverged fit succeeded");
    let err = stderr(&out);
    assert!(err.contains("diverged") && err.contains("--c"), "{err}");
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

/// Row 3: an unbalanced quote in the middle of a CSV file names the line where it opened.
#[test]
fn an_unclosed_quote_names_its_line() {
    let dir = tempdir();
    let mut csv = String::from("article,text,topic,stance\n");
    for i in 0..19 {
        csv.push_str(&format!(
            "a{i},Troops moved toward the river {i},security,neutral\n"
        ));
    }
    csv.push_str("a9,\"troops fired shells at the town,security,neutral\n");
    for i in 0..280 {
        csv.push_str(&format!(
            "b{i},Envoys met again for talks {i},diplomacy,supportive\n"
        ));
    }
    let data = write(dir.path(), "q.csv", csv);
    let out = run(
        dir.path(),
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--model",
            "m.newsclass",
        ],
    );
    assert_user_error(&out, &["q.csv:21", "quote"]);
    assert!(!dir.path().join("m.newsclass").exists());
}

/// Rows 3 and 8: a head with an exploding number of classes is refused, with the count and the
/// flag that raises the limit; the flag does raise it.
#[test]
fn too_many_classes_are_refused_unless_allowed() {
    let dir = tempdir();
    let mut csv = String::from("text,label\n");
    for i in 0..60 {
        csv.push_str(&format!("sentence number {i} about talks,label{i}\n"));
    }
    let data = write(dir.path(), "many.csv", csv);
    let data = data.to_str().unwrap();
    let args = [
        "train",
        "--data",
        data,
        "--label-columns",
        "label",
        "--model",
        "m.newsclass",
    ];
    let out = run(dir.path(), &args);
    assert_user_error(&out, &["60 classes", "--max-classes"]);
    let mut allowed = args.to_vec();
    allowed.extend(["--max-classes", "60", "--max-iter", "5"]);
    let out = run(dir.path(), &allowed);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Row 4: `train … | true` saves the model and exits 0.
#[cfg(unix)]
#[test]
fn training_into_a_closed_pipe_saves_the_model() {
    use std::process::{Command, Stdio};
    let dir = tempdir();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("newsclass"))
        .current_dir(dir.path())
        .args([
            "train",
            "--data",
            &fx("train.csv"),
            "--model",
            "m.newsclass",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn newsclass");
    drop(child.stdout.take()); // the reader is gone before anything is printed
    let out = child.wait_with_output().expect("wait for newsclass");
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(dir.path().join("m.newsclass").exists());
}

/// Row 5: a temporary file left by a killed save is removed by the next save in that folder;
/// a target that is not a regular file is refused; a symbolic link is written through.
#[cfg(unix)]
#[test]
fn saves_clean_up_after_killed_runs_and_respect_odd_targets() {
    let dir = tempdir();
    let stale = write(dir.path(), ".m.newsclass.tmp-4194305", vec![0u8; 1 << 20]);
    train(dir.path(), "m.newsclass", &[]);
    assert!(!stale.exists(), "the stale temporary file is still there");
    assert_eq!(entries(dir.path()), ["m.newsclass"]);

    let fifo = dir.path().join("pipe.newsclass");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = run_train(dir.path(), "pipe.newsclass", &[]);
    assert_user_error(&out, &["pipe.newsclass", "not a regular file"]);

    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink("real/target.newsclass", dir.path().join("link.newsclass")).unwrap();
    train(dir.path(), "link.newsclass", &[]);
    let link = dir.path().join("link.newsclass");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(dir.path().join("real/target.newsclass").is_file());
}

/// Row 7: an id column that does not exist is an error naming it and listing the real ones.
#[test]
fn a_missing_id_column_is_named() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let rows = write(dir.path(), "rows.csv", "text,other\nTroops moved.,x\n");
    let out = run(
        dir.path(),
        &[
            "predict",
            "--model",
            "m.newsclass",
            "--input-format",
            "csv",
            "--id-column",
            "nosuch",
            rows.to_str().unwrap(),
        ],
    );
    assert_user_error(&out, &["nosuch", "text, other"]);
}

/// Row 10: `--max-df 0` names `--max-df`.
#[test]
fn max_df_below_min_df_names_max_df() {
    let out = run_train(tempdir().path(), "m.newsclass", &["--max-df", "0"]);
    let line = assert_user_error(&out, &["--max-df"]);
    assert!(!line.contains("--min-df`"), "{line}");
}

/// Row 11: a negative number after a space reaches the range check, which names the flag; for
/// a count, the parser's own message names it.
#[test]
fn negative_numbers_reach_the_range_checks() {
    for (flag, value) in [("--tol", "-1"), ("--c", "-2"), ("--min-df", "-1")] {
        let out = run_train(tempdir().path(), "m.newsclass", &[flag, value]);
        assert_user_error(&out, &[flag]);
    }
    for flag in ["--max-iter", "--seed", "--max-classes"] {
        let out = run_train(tempdir().path(), "m.newsclass", &[flag, "-1"]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains(&format!("'{flag} <N>'")), "{err}");
        assert!(!err.contains("unexpected argument"), "{err}");
    }
}

/// Row 12: a model folder that cannot be written is reported before any data is read.
#[test]
fn an_unwritable_model_folder_is_found_before_reading_data() {
    let dir = tempdir();
    let out = run(
        dir.path(),
        &[
            "train",
            "--data",
            "no-such-data.csv",
            "--model",
            "no-such-folder/m.newsclass",
        ],
    );
    let line = assert_user_error(&out, &["no-such-folder"]);
    assert!(
        !line.contains("no-such-data"),
        "the data was read first: {line}"
    );
}

/// Row 13: `predict` with no file at a terminal says what to give instead of waiting.
#[test]
fn predict_at_a_terminal_without_input_explains() {
    let Ok(script) = which("script") else {
        eprintln!("skipping: `script` (util-linux) is not installed, no terminal to test with");
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("newsclass");
    let out = std::process::Command::new(script)
        .args(["-qec", &format!("{} predict", bin.display()), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("give one or more files"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// Row 14: JSONL on standard input with `--data-format jsonl`, and TSV files.
#[test]
fn data_formats_can_be_named() {
    let dir = tempdir();
    let csv = std::fs::read_to_string(fixture("train.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let (mut jsonl, mut tsv) = (
        String::new(),
        String::from("article\ttext\ttopic\tstance\n"),
    );
    for r in rdr.records() {
        let r = r.unwrap();
        jsonl.push_str(
            &serde_json::json!({"text": &r[1], "topic": &r[2], "stance": &r[3]}).to_string(),
        );
        jsonl.push('\n');
        tsv.push_str(&format!("{}\t{}\t{}\t{}\n", &r[0], &r[1], &r[2], &r[3]));
    }
    let out = run_stdin(
        dir.path(),
        &[
            "train",
            "--data",
            "-",
            "--data-format",
            "jsonl",
            "--model",
            "j.newsclass",
        ],
        jsonl,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tsv = write(dir.path(), "d.tsv", tsv);
    let out = run(
        dir.path(),
        &[
            "train",
            "--data",
            tsv.to_str().unwrap(),
            "--model",
            "t.newsclass",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Same texts and labels in the same order: the same model, byte for byte.
    assert_eq!(
        std::fs::read(dir.path().join("j.newsclass")).unwrap(),
        std::fs::read(dir.path().join("t.newsclass")).unwrap()
    );
}

/// Streaming: text input is classified a block of lines at a time with offsets and sentence
/// numbers carried across blocks, so a file larger than a block gives the same rows as its
/// articles one by one.
#[test]
fn streamed_text_keeps_offsets_and_numbers_across_blocks() {
    let dir = tempdir();
    train(dir.path(), "m.newsclass", &[]);
    let article = std::fs::read_to_string(fixture("article.txt")).unwrap();
    // Enough copies to span more than one 4 MiB block, with non-ASCII text in between.
    let unit = format!("{article}\nLe ministère a condamné l’attaque à Gaza.\n");
    let copies = (5 << 20) / unit.len() + 1;
    let big = write(dir.path(), "big.txt", unit.repeat(copies));
    let rows = predict_jsonl(dir.path(), "m.newsclass", "text", big.to_str().unwrap());
    let small = predict_jsonl(
        dir.path(),
        "m.newsclass",
        "text",
        write(dir.path(), "one.txt", &unit).to_str().unwrap(),
    );
    assert_eq!(rows.len(), small.len() * copies);
    let text: Vec<char> = std::fs::read_to_string(&big).unwrap().chars().collect();
    for (i, r) in rows.iter().enumerate().step_by(997) {
        assert_eq!(r["sentence"], i + 1);
        let (s, e) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(
            text[s..e].iter().collect::<String>(),
            r["text"].as_str().unwrap()
        );
        assert_eq!(r["topic"], small[i % small.len()]["topic"]);
    }
}
