use std::io::{self, Write};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::Decision;

/// A writer that holds its first write until the test opens `gate`, and keeps what it got.
#[derive(Clone)]
struct Gated {
    gate: Arc<Barrier>,
    opened: Arc<Mutex<bool>>,
    got: Arc<Mutex<Vec<u8>>>,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut opened = self.opened.lock().unwrap();
        if !*opened {
            self.gate.wait();
            *opened = true;
        }
        self.got.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn record(n: usize) -> String {
    format!("call-{n}")
}

fn lines(got: &Mutex<Vec<u8>>) -> Vec<Value> {
    String::from_utf8(got.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_full_queue_drops_counts_and_reports_never_blocks() {
    let writer = Gated {
        gate: Arc::new(Barrier::new(2)),
        opened: Arc::new(Mutex::new(false)),
        got: Arc::new(Mutex::new(Vec::new())),
    };
    let auditor = Auditor::start(Sink::Writer(Box::new(writer.clone())), 4).unwrap();
    let started = Instant::now();
    for n in 0..100 {
        let id = record(n);
        auditor.record(&Record {
            request_id: Some(&id),
            method: "tools/call",
            decision: Some(Decision::Allow),
            ..Record::default()
        });
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "recording never waits"
    );
    // The writer holds at most one batch; the queue four more.
    let dropped = auditor.dropped();
    assert!(dropped >= 100 - 4 - 64, "dropped {dropped}");
    writer.gate.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = lines(&writer.got);
        let reports: Vec<&Value> = lines
            .iter()
            .filter(|l| l["event"] == "audit_lines_dropped")
            .collect();
        if reports.last().is_some_and(|r| r["total"] == dropped) {
            let counted: u64 = reports.iter().map(|r| r["count"].as_u64().unwrap()).sum();
            assert_eq!(counted, dropped, "each drop reported once");
            let written = lines.iter().filter(|l| l["method"] == "tools/call").count() as u64;
            assert_eq!(written + dropped, 100, "every line written or counted");
            let ids: Vec<&str> = lines
                .iter()
                .filter_map(|l| l["request_id"].as_str())
                .collect();
            assert_eq!(ids.first(), Some(&"call-0"), "written in order");
            break;
        }
        assert!(Instant::now() < deadline, "no drop report: {lines:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn lines_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let auditor = Auditor::start(Sink::file(&path).unwrap(), DEFAULT_CAPACITY).unwrap();
    auditor.record(&Record {
        subject: Some("alice"),
        method: "prompts/get",
        decision: Some(Decision::Deny),
        status: Some(403),
        ..Record::default()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(line) = text.lines().next() {
            let line: Value = serde_json::from_str(line).unwrap();
            assert_eq!(line["subject"], "alice");
            assert_eq!(line["status"], 403);
            assert_eq!(auditor.dropped(), 0);
            break;
        }
        assert!(Instant::now() < deadline, "nothing written");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keeps_the_last_lines_for_the_console() {
    let auditor = Auditor::start(Sink::Writer(Box::new(io::sink())), DEFAULT_CAPACITY).unwrap();
    let total = RECENT + 7;
    for n in 0..total {
        let id = record(n);
        auditor.record(&Record {
            request_id: Some(&id),
            method: "tools/call",
            ..Record::default()
        });
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let recent = auditor.recent();
        let last = recent
            .last()
            .map(|l| serde_json::from_str::<Value>(l).unwrap());
        if last.is_some_and(|l| l["request_id"] == record(total - 1)) {
            assert_eq!(recent.len(), RECENT, "bounded");
            let first: Value = serde_json::from_str(&recent[0]).unwrap();
            assert_eq!(first["request_id"], record(total - RECENT), "oldest first");
            break;
        }
        assert!(Instant::now() < deadline, "not kept: {recent:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
