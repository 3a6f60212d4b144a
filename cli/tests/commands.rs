//! The real `chronicle` binary against SQLite and PostgreSQL stores written
//! by the library (PostgreSQL when `CHRONICLE_TEST_POSTGRES_URL` is set).

mod common;

use common::{json_lines, stderr, stdout, Fixture};

#[tokio::test]
async fn streams_lists_every_stream_by_type_with_its_version() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let output = fixture.cli().arg("streams").output().unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(text.starts_with("TYPE"), "{kind}: {text}");
        for (id, version) in fixture.dogs.iter().zip([4, 3, 2]) {
            let line = text
                .lines()
                .find(|line| line.contains(&id.to_string()))
                .unwrap();
            assert!(line.starts_with("Dog"), "{kind}: {line}");
            assert!(line.contains(&format!("  {version}  ")), "{kind}: {line}");
        }

        let output = fixture.cli().args(["streams", "--json"]).output().unwrap();
        let rows = &json_lines(&output)[0];
        assert_eq!(rows.as_array().unwrap().len(), 3, "{kind}");
        let fido = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["stream_id"] == fixture.dogs[0].to_string())
            .unwrap();
        assert_eq!(
            (fido["version"].as_u64(), fido["events"].as_u64()),
            (Some(4), Some(4))
        );
        let output = fixture
            .cli()
            .args(["streams", "--type", "Cat", "--json"])
            .output()
            .unwrap();
        assert_eq!(stdout(&output).trim(), "[]", "{kind}");
        fixture.remove().await;
    }
}

#[tokio::test]
async fn show_prints_a_stream_with_envelopes_up_to_a_version() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let fido = fixture.dogs[0].to_string();
        let output = fixture.cli().args(["show", &fido]).output().unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let text = stdout(&output);
        assert_eq!(text.lines().count(), 5, "{kind}: {text}");
        assert!(
            text.contains("Registered") && text.contains(r#"{"trick":"trick 2"}"#),
            "{text}"
        );

        let output = fixture
            .cli()
            .args(["show", &fido, "--at", "2", "--json"])
            .output()
            .unwrap();
        let events = json_lines(&output);
        assert_eq!(events.len(), 2, "{kind}");
        assert_eq!(events[1]["version"], 2);
        assert_eq!(events[1]["event_type"], "TrickAdded");
        assert_eq!(events[1]["payload"]["trick"], "trick 0");
        assert_eq!(events[1]["aggregate_type"], "Dog");
        assert_eq!(events[1]["chain_hash"].as_str().unwrap().len(), 64);
        assert!(events[1]["timestamp"].as_str().unwrap().ends_with('Z'));

        for (args, message) in [
            (
                vec!["show", &fido, "--at", "9"],
                "has no version 9: its latest is 4",
            ),
            (
                vec!["show", "not-a-uuid"],
                "`not-a-uuid` is not a stream id",
            ),
            (
                vec!["show", "00000000-0000-0000-0000-000000000000"],
                "has no events",
            ),
        ] {
            let output = fixture.cli().args(&args).output().unwrap();
            assert_eq!(output.status.code(), Some(2), "{kind}: {args:?}");
            let error = stderr(&output);
            assert_eq!(error.lines().count(), 1, "{kind}: {error}");
            assert!(error.contains(message), "{kind}: {error}");
        }
        fixture.remove().await;
    }
}

#[tokio::test]
async fn log_and_tail_read_the_log_after_a_position() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let output = fixture
            .cli()
            .args(["log", "--after", "2", "--limit", "3", "--json"])
            .output()
            .unwrap();
        let positions: Vec<u64> = json_lines(&output)
            .iter()
            .map(|event| event["position"].as_u64().unwrap())
            .collect();
        assert_eq!(positions, [3, 4, 5], "{kind}");

        let output = fixture
            .cli()
            .args(["tail", "--after", "7", "--count", "2"])
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let text = stdout(&output);
        assert_eq!(text.lines().count(), 2, "{kind}: {text}");
        assert!(text.starts_with("8  "), "{kind}: {text}");
        fixture.remove().await;
    }
}

#[tokio::test]
async fn tail_follows_events_appended_while_it_runs() {
    let fixture = Fixture::all().await.remove(0);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("chronicle"))
        .args(["--store", &fixture.url, "tail", "--count", "1", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let store = chronicle_es::store::AnyStore::from_url(&fixture.url)
        .await
        .unwrap();
    let app = chronicle_es::Application::new(store);
    let mut dog = common::Dog::register("Late".into());
    app.save(&mut dog).await.unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let events = json_lines(&output);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["stream_id"], dog.id().to_string());
    assert_eq!(events[0]["position"], 10);
    fixture.remove().await;
}

#[tokio::test]
async fn stats_counts_events_streams_and_consumers() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let output = fixture.cli().args(["stats", "--json"]).output().unwrap();
        let stats = &json_lines(&output)[0];
        assert_eq!(stats["events"], 9, "{kind}");
        assert_eq!(stats["streams"], 3, "{kind}");
        assert_eq!(stats["last_position"], 9, "{kind}");
        assert_eq!(stats["consumers"], 1, "{kind}");
        assert_eq!(stats["events_by_aggregate_type"]["Dog"], 9, "{kind}");
        assert!(stats["oldest"].as_str().unwrap() <= stats["newest"].as_str().unwrap());
        let text = stdout(&fixture.cli().arg("stats").output().unwrap());
        assert!(
            text.lines()
                .any(|line| line.starts_with("events ") && line.ends_with(" 9")),
            "{text}"
        );
        fixture.remove().await;
    }
}

#[tokio::test]
async fn consumers_shows_lag_and_reset_asks_first() {
    for fixture in Fixture::all().await {
        let kind = fixture.kind();
        let text = stdout(&fixture.cli().arg("consumers").output().unwrap());
        let line = text
            .lines()
            .find(|line| line.starts_with("dog-names"))
            .unwrap();
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["dog-names", "5", "4"],
            "{kind}"
        );

        // Declined: nothing changes, exit status 1.
        let output = fixture
            .cli()
            .args(["consumers", "reset", "dog-names", "--to", "2"])
            .write_stdin("n\n")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{kind}");
        assert!(stderr(&output).contains("Reset consumer `dog-names` from position 5 to 2?"));
        let listed = |fixture: &Fixture| {
            let output = fixture
                .cli()
                .args(["consumers", "--json"])
                .output()
                .unwrap();
            json_lines(&output)[0].clone()
        };
        assert_eq!(listed(&fixture)[0]["position"], 5, "{kind}");

        let output = fixture
            .cli()
            .args(["consumers", "reset", "dog-names", "--to", "2"])
            .write_stdin("y\n")
            .output()
            .unwrap();
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert_eq!(listed(&fixture)[0]["position"], 2, "{kind}");
        assert_eq!(listed(&fixture)[0]["lag"], 7, "{kind}");

        for (args, message) in [
            (
                vec!["consumers", "reset", "nobody", "--yes"],
                "no consumer named `nobody`",
            ),
            (
                vec!["consumers", "reset", "dog-names", "--to", "99", "--yes"],
                "position 99 is past the end of the log (9)",
            ),
        ] {
            let output = fixture.cli().args(&args).output().unwrap();
            assert_eq!(output.status.code(), Some(2), "{kind}");
            assert!(
                stderr(&output).contains(message),
                "{kind}: {}",
                stderr(&output)
            );
        }
        assert_eq!(listed(&fixture)[0]["position"], 2, "{kind}: unchanged");

        let output = fixture
            .cli()
            .args(["consumers", "reset", "dog-names", "--yes"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{kind}");
        assert_eq!(listed(&fixture), serde_json::json!([]), "{kind}");
        fixture.remove().await;
    }
}

#[tokio::test]
async fn errors_are_one_line_and_never_panics() {
    let fixture = Fixture::all().await.remove(0);
    let missing = assert_cmd::Command::cargo_bin("chronicle")
        .unwrap()
        .env_remove("CHRONICLE_STORE_URL")
        .arg("streams")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("pass --store URL or set CHRONICLE_STORE_URL"));
    for (url, message) in [
        ("/no/such/dir/x.db", "no SQLite store at /no/such/dir/x.db"),
        ("postgres://nobody@127.0.0.1:1/x", "postgres"),
        ("mysql://x", "unknown store URL `mysql://x`"),
    ] {
        let output = assert_cmd::Command::cargo_bin("chronicle")
            .unwrap()
            .args(["--store", url, "stats"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{url}");
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{url}: {error}");
        assert!(error.starts_with("chronicle: error: "), "{url}: {error}");
        assert!(
            error.to_lowercase().contains(&message.to_lowercase()),
            "{url}: {error}"
        );
    }
    // The store URL from the environment.
    let output = assert_cmd::Command::cargo_bin("chronicle")
        .unwrap()
        .env("CHRONICLE_STORE_URL", &fixture.url)
        .args(["stats", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&output)[0]["events"], 9);
    fixture.remove().await;
}
