//! RDT groups against a directory standing in for the resctrl mount (the machines have
//! no resctrl: the kernel's own files are what the real mount adds).

use super::*;

fn fake_mount(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quai-rdt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rdt(json: &str) -> LinuxIntelRdt {
    serde_json::from_str(json).unwrap()
}

#[test]
fn own_group_with_schemata_tasks_and_monitoring() {
    let m = fake_mount("own");
    let r = rdt(r#"{"l3CacheSchema":"L3:0=ff","memBwSchema":"MB:0=50","enableMonitoring":true}"#);
    let g = RdtGroup::plan(&m, "ctr1", &r).unwrap();
    assert_eq!(g.dir, m.join("ctr1"));
    assert!(g.created);
    assert!(!g.dir.exists(), "plan made something");
    // The kernel makes mon_groups inside a new group; a plain directory has none, so
    // the monitoring group's parent is made by hand here.
    let plain = RdtGroup {
        mon: None,
        ..g.clone()
    };
    plain.make().unwrap();
    std::fs::create_dir(m.join("ctr1/mon_groups")).unwrap();
    std::fs::create_dir(g.mon.as_ref().unwrap()).unwrap();
    let text = std::fs::read_to_string(m.join("ctr1/schemata")).unwrap();
    assert_eq!(text, "L3:0=ff\nMB:0=50\n");
    g.add(42).unwrap();
    assert_eq!(std::fs::read_to_string(m.join("ctr1/tasks")).unwrap(), "42");
    assert_eq!(
        std::fs::read_to_string(m.join("ctr1/mon_groups/ctr1/tasks")).unwrap(),
        "42"
    );
    std::fs::remove_dir_all(&m).unwrap();
}

#[test]
fn schemata_lines_win_and_a_shared_clos_group_stays() {
    let m = fake_mount("clos");
    std::fs::create_dir(m.join("gold")).unwrap();
    let r = rdt(r#"{"closID":"gold","schemata":["L3:0=f0","MB:0=20"],"l3CacheSchema":"L3:0=1"}"#);
    let g = RdtGroup::plan(&m, "ctr2", &r).unwrap();
    assert_eq!(g.dir, m.join("gold"));
    assert!(!g.created, "an existing closID group is shared");
    assert_eq!(g.schemata, ["L3:0=f0", "MB:0=20"]);
    g.make().unwrap();
    g.remove().unwrap();
    assert!(m.join("gold").exists(), "a shared group was removed");
    std::fs::remove_dir_all(&m).unwrap();
}

#[test]
fn a_group_made_for_the_container_is_removed() {
    let m = fake_mount("rm");
    let g = RdtGroup::plan(&m, "ctr3", &rdt("{}")).unwrap();
    g.make().unwrap();
    assert!(m.join("ctr3").is_dir());
    g.remove().unwrap();
    assert!(!m.join("ctr3").exists());
    // Already gone: nothing to do.
    g.remove().unwrap();
    std::fs::remove_dir_all(&m).unwrap();
}

#[test]
fn bad_names_and_lines_are_refused() {
    let m = fake_mount("bad");
    for bad in [
        r#"{"closID":"../x"}"#,
        r#"{"closID":".."}"#,
        r#"{"schemata":["a\nb"]}"#,
    ] {
        assert!(RdtGroup::plan(&m, "c", &rdt(bad)).is_err(), "{bad}");
    }
    std::fs::remove_dir_all(&m).unwrap();
}
