//! `verify`, `heads`, `export`, `import` and `copy` with the real binary,
//! on SQLite and PostgreSQL stores written by the library, including
//! corrupted ones.

mod common;

use chronicle_es::prelude::*;
use chronicle_es::store::AnyStore;
use common::{json_lines, remove, stderr, stdout, Dog, Fixture};

#[tokio::test]
async fn verify_passes_a_sound_store_and_names_each_tampered_stream_and_version() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let output = fixture.cli().arg("verify").output().unwrap();
        assert!(output.status.success(), "{kind}: {}", stdout(&output));
        assert_eq!(stdout(&output).trim(), "ok: 3 streams, 9 events", "{kind}");

        let [fido, rex, bella] = [0, 1, 2].map(|i| fixture.id_literal(fixture.dogs[i]));
        // Fido: a changed payload at version 3 (versions intact: only the
        // hash chain tells). Rex: version 2 removed. Bella: versions 1 and 2
        // swapped.
        let payload = match kind {
            "sqlite" => "'{\"trick\":\"beg\"}'",
            _ => "'{\"trick\":\"beg\"}'::json",
        };
        fixture
            .sql(&format!(
                "UPDATE {{events}} SET payload = {payload} WHERE stream_id = {fido} AND version = 3;
                 DELETE FROM {{events}} WHERE stream_id = {rex} AND version = 2;
                 UPDATE {{events}} SET version = -1 WHERE stream_id = {bella} AND version = 1;
                 UPDATE {{events}} SET version = 1 WHERE stream_id = {bella} AND version = 2;
                 UPDATE {{events}} SET version = 2 WHERE stream_id = {bella} AND version = -1;"
            ))
            .await;
        let output = fixture.cli().arg("verify").output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{kind}");
        let text = stdout(&output);
        let [fido, rex, bella] = [0, 1, 2].map(|i| fixture.dogs[i]);
        for expected in [
            format!("stream {fido} version 3: the stored hash does not match"),
            format!("stream {rex} version 2: found version 3 instead"),
            format!("stream {bella} version 1: found version 2 instead"),
        ] {
            assert!(
                text.contains(&expected),
                "{kind}: missing `{expected}` in\n{text}"
            );
        }
        assert!(
            text.ends_with("3 problem(s) in 3 streams, 8 events\n"),
            "{kind}: {text}"
        );

        let output = fixture.cli().args(["verify", "--json"]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{kind}");
        let report = &json_lines(&output)[0];
        let problems = report["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 3, "{kind}");
        assert!(problems
            .iter()
            .any(|p| p["stream_id"] == rex.to_string() && p["version"] == 2));
        fixture.remove().await;
    }
}

#[tokio::test]
async fn verify_with_kept_heads_finds_a_truncated_or_removed_stream() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let heads = std::env::temp_dir().join(format!("heads-{}.jsonl", Uuid::new_v4()));
        let output = fixture.cli().arg("heads").output().unwrap();
        assert!(output.status.success(), "{kind}");
        assert_eq!(json_lines(&output).len(), 3, "{kind}");
        std::fs::write(&heads, &output.stdout).unwrap();
        let heads_arg = heads.to_str().unwrap();
        let output = fixture
            .cli()
            .args(["verify", "--heads", heads_arg])
            .output()
            .unwrap();
        assert!(output.status.success(), "{kind}: {}", stdout(&output));

        let [fido, bella] = [0, 2].map(|i| fixture.id_literal(fixture.dogs[i]));
        fixture
            .sql(&format!(
                "DELETE FROM {{events}} WHERE stream_id = {fido} AND version = 4;
                 DELETE FROM {{events}} WHERE stream_id = {bella};"
            ))
            .await;
        // Without the heads, the shorter chain is sound.
        assert!(
            fixture
                .cli()
                .arg("verify")
                .output()
                .unwrap()
                .status
                .success(),
            "{kind}"
        );
        let output = fixture
            .cli()
            .args(["verify", "--heads", heads_arg])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{kind}");
        let text = stdout(&output);
        let [fido, bella] = [0, 2].map(|i| fixture.dogs[i]);
        assert!(
            text.contains(&format!(
                "stream {fido} version 4: the stream ends at version 3"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "stream {bella} version 2: the stream has no events"
            )),
            "{text}"
        );
        let _ = std::fs::remove_file(&heads);
        fixture.remove().await;
    }
}

#[tokio::test]
async fn a_corrupt_row_is_an_error_naming_it() {
    let fixture = Fixture::all().await.remove(0);
    let fido = fixture.id_literal(fixture.dogs[0]);
    fixture
        .sql(&format!(
            "UPDATE {{events}} SET event_id = x'0102' WHERE stream_id = {fido} AND version = 2;"
        ))
        .await;
    for command in ["verify", "streams", "export"] {
        let output = fixture.cli().arg(command).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command}");
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{command}: {error}");
        assert!(
            error.contains(&format!("stream {} at version 2", fixture.dogs[0]))
                && error.contains("event id is not a uuid"),
            "{command}: {error}"
        );
    }
    fixture.remove().await;
}

/// The dogs of `url`, loaded through an application with hash chains.
async fn dogs_at(url: &str, ids: &[Uuid]) -> Vec<Dog> {
    let app = Application::builder(AnyStore::from_url(url).await.unwrap())
        .hash_chain(true)
        .build();
    let mut dogs = Vec::new();
    for &id in ids {
        dogs.push(app.get::<Dog>(id).await.unwrap());
    }
    dogs
}

#[tokio::test]
async fn export_then_import_rebuilds_the_store_and_a_second_import_writes_nothing() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let file = std::env::temp_dir().join(format!("export-{}.jsonl", Uuid::new_v4()));
        let output = fixture
            .cli()
            .args(["export", "-o", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert!(stderr(&output).contains("exported 9 events"));
        let lines = std::fs::read_to_string(&file).unwrap();
        assert_eq!(lines.lines().count(), 9, "{kind}");
        // Stdout gives the same lines.
        let output = fixture.cli().arg("export").output().unwrap();
        assert_eq!(stdout(&output), lines, "{kind}");

        let place = Fixture::sqlite_place();
        let target = Fixture::url_of(&place);
        let import = |input: &str| {
            assert_cmd::Command::cargo_bin("chronicle")
                .unwrap()
                .args(["--store", &target, "import", "--json"])
                .write_stdin(input.to_owned())
                .output()
                .unwrap()
        };
        let output = import(&lines);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert_eq!(
            json_lines(&output)[0],
            serde_json::json!({"written": 9, "already_there": 0})
        );
        let output = import(&lines);
        assert_eq!(
            json_lines(&output)[0],
            serde_json::json!({"written": 0, "already_there": 9})
        );
        assert_eq!(
            dogs_at(&target, &fixture.dogs).await,
            dogs_at(&fixture.url, &fixture.dogs).await
        );

        // A line that is not an envelope is named.
        let output = import("{\"position\": 1}\n");
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).starts_with("chronicle: error: line 1: missing field"),
            "{}",
            stderr(&output)
        );
        remove(&place).await;
        let _ = std::fs::remove_file(&file);
        fixture.remove().await;
    }
}

#[tokio::test]
async fn copy_moves_a_store_resumes_after_a_stop_and_verifies_counts() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        // SQLite to PostgreSQL when there is a server, and back.
        let place = match kind {
            "sqlite" => Fixture::postgres_place().unwrap_or_else(Fixture::sqlite_place),
            _ => Fixture::sqlite_place(),
        };
        let target = Fixture::url_of(&place);
        let copy = |extra: &[&str]| {
            let mut command = fixture.cli();
            command
                .args(["copy", "--to", &target, "--batch", "2", "--json"])
                .args(extra);
            command.output().unwrap()
        };
        let output = copy(&["--stop-after", "3"]);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert_eq!(
            json_lines(&output)[0],
            serde_json::json!({"copied": 3, "complete": false, "events": 0, "streams": 0})
        );
        let output = copy(&[]);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert_eq!(
            json_lines(&output)[0],
            serde_json::json!({"copied": 6, "complete": true, "events": 9, "streams": 3})
        );
        // Again: nothing left to copy, counts still verified.
        let output = copy(&[]);
        assert_eq!(json_lines(&output)[0]["copied"], 0, "{kind}");
        assert_eq!(
            dogs_at(&target, &fixture.dogs).await,
            dogs_at(&fixture.url, &fixture.dogs).await
        );
        let verified = assert_cmd::Command::cargo_bin("chronicle")
            .unwrap()
            .args(["--store", &target, "verify"])
            .output()
            .unwrap();
        assert!(verified.status.success(), "{kind}: {}", stdout(&verified));
        remove(&place).await;
        fixture.remove().await;
    }
}
