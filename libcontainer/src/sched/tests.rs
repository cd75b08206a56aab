use super::*;
use crate::test_support::in_child;

fn sched(json: serde_json::Value) -> Scheduler {
    serde_json::from_value(json).expect("scheduler json")
}

#[test]
fn scheduler_fields_become_the_kernel_attributes() {
    let a = sched_attr(&sched(serde_json::json!({
        "policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RECLAIM", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_D_L_OVERRUN"],
        "runtime": 10_000_000u64, "deadline": 20_000_000u64, "period": 30_000_000u64
    })))
    .unwrap();
    assert_eq!(
        (a.size, a.policy, a.flags, a.runtime, a.deadline, a.period),
        (56, 6, 0x06, 10_000_000, 20_000_000, 30_000_000)
    );
    let a = sched_attr(&sched(
        serde_json::json!({"policy": "SCHED_RR", "priority": 5}),
    ))
    .unwrap();
    assert_eq!((a.policy, a.priority), (2, 5));
    let a = sched_attr(&sched(
        serde_json::json!({"policy": "SCHED_BATCH", "nice": -3}),
    ))
    .unwrap();
    assert_eq!((a.policy, a.nice), (3, -3));
    for (p, n) in [("SCHED_OTHER", 0), ("SCHED_FIFO", 1), ("SCHED_IDLE", 5)] {
        assert_eq!(
            sched_attr(&sched(serde_json::json!({ "policy": p })))
                .unwrap()
                .policy,
            n
        );
    }
}

#[test]
fn scheduler_combinations_runc_refuses_are_refused() {
    for (bad, phrase) in [
        (
            serde_json::json!({"policy": "SCHED_OTHER", "nice": 20}),
            "nice 20",
        ),
        (
            serde_json::json!({"policy": "SCHED_OTHER", "priority": 3}),
            "priority can only",
        ),
        (
            serde_json::json!({"policy": "SCHED_FIFO", "priority": -1}),
            "negative",
        ),
        (
            serde_json::json!({"policy": "SCHED_RR", "runtime": 1}),
            "SCHED_DEADLINE",
        ),
        (serde_json::json!({"policy": "SCHED_ISO"}), "SCHED_ISO"),
    ] {
        let e = sched_attr(&sched(bad.clone())).unwrap_err().to_string();
        assert!(
            e.contains(phrase) && e.starts_with("process.scheduler"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn io_priority_values() {
    let p = |c: &str, n: i64| -> LinuxIOPriority {
        serde_json::from_value(serde_json::json!({"class": c, "priority": n})).unwrap()
    };
    assert_eq!(ioprio_value(&p("IOPRIO_CLASS_RT", 0)).unwrap(), 1 << 13);
    assert_eq!(
        ioprio_value(&p("IOPRIO_CLASS_BE", 7)).unwrap(),
        (2 << 13) | 7
    );
    assert_eq!(ioprio_value(&p("IOPRIO_CLASS_IDLE", 0)).unwrap(), 3 << 13);
    let e = ioprio_value(&p("IOPRIO_CLASS_BE", 8))
        .unwrap_err()
        .to_string();
    assert!(e.contains("process.ioPriority: priority 8"), "{e}");
}

#[test]
fn applied_to_the_calling_process() {
    in_child(|| {
        set_scheduler(&sched(
            serde_json::json!({"policy": "SCHED_BATCH", "nice": 5}),
        ))
        .map_err(|e| e.to_string())?;
        // SAFETY: sched_getscheduler and getpriority take integers only.
        let (policy, nice) = unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        };
        if (policy, nice) != (libc::SCHED_BATCH, 5) {
            return Err(format!("policy {policy}, nice {nice}"));
        }
        let io: LinuxIOPriority = serde_json::from_value(
            serde_json::json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0}),
        )
        .map_err(|e| e.to_string())?;
        set_io_priority(&io).map_err(|e| e.to_string())?;
        // SAFETY: ioprio_get takes integers only.
        let got = unsafe { libc::syscall(libc::SYS_ioprio_get, 1, 0) };
        if got != 3 << 13 {
            return Err(format!("ioprio {got:#x}"));
        }
        set_cpu_affinity("0").map_err(|e| e.to_string())?;
        let status =
            std::fs::read_to_string("/proc/thread-self/status").map_err(|e| e.to_string())?;
        if !status.lines().any(|l| l == "Cpus_allowed_list:\t0") {
            return Err(format!("affinity not 0: {status}"));
        }
        let e = set_cpu_affinity("8000").unwrap_err().to_string();
        if !e.contains("no CPU of the list") {
            return Err(e);
        }
        Ok(())
    });
}

#[test]
fn the_runtime_specs_flag_names_parse() {
    let text = serde_json::json!({
        "ociVersion": "1.3.0",
        "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}, "args": ["sh"],
            "scheduler": {"policy": "SCHED_FIFO", "priority": 1,
                "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_RECLAIM"]}}
    })
    .to_string();
    let spec = crate::spec::parse(&text).expect("spec names parse");
    let s = spec
        .process()
        .as_ref()
        .and_then(|p| p.scheduler().clone())
        .unwrap();
    assert_eq!(sched_attr(&s).unwrap().flags, 0x01 | 0x04 | 0x02);
}
