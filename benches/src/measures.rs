//! Every figure the benchmark reports: its key in results.json, its label and unit.
//! Keys are constants so that the code measuring a figure and the targets judging it
//! cannot drift apart.

/// `run /bin/true`, end to end.
pub const RUN: &str = "run_ms";
/// `create` + `start` + `delete` of one container, the three calls summed.
pub const CYCLE: &str = "cycle_ms";
/// `create`.
pub const CREATE: &str = "create_ms";
/// `start`.
pub const START: &str = "start_ms";
/// `state` of a created container.
pub const STATE: &str = "state_ms";
/// `kill <id> KILL` of a running container.
pub const KILL: &str = "kill_ms";
/// `delete --force` of a stopped container.
pub const DELETE: &str = "delete_ms";
/// `exec <id> /bin/true` into a running container.
pub const EXEC: &str = "exec_ms";
/// From `start` returning to the container's process having exited.
pub const EXIT_WAIT: &str = "exit_wait_ms";
/// Peak RSS of the `create` process.
pub const CREATE_RSS: &str = "create_peak_rss_kib";
/// Peak RSS of the `exec` process.
pub const EXEC_RSS: &str = "exec_peak_rss_kib";
/// Peak RSS of the `run` process.
pub const RUN_RSS: &str = "run_peak_rss_kib";
/// VmRSS of the init waiting in a created container.
pub const INIT_RSS: &str = "init_rss_kib";
/// RssAnon of the init waiting in a created container.
pub const INIT_ANON: &str = "init_anon_kib";
/// RSS of any other runtime process alive while a container sits created.
pub const OTHERS_RSS: &str = "others_rss_kib";
/// Wall time of N `create`s started at once, until the last returned.
pub const PARALLEL_CREATE: &str = "parallel_create_ms";
/// How many of those N `create`s failed.
pub const PARALLEL_FAILURES: &str = "parallel_create_failures";
/// Wall time of deleting those N containers, all at once.
pub const PARALLEL_DELETE: &str = "parallel_delete_ms";
/// `list` with the small population present.
pub const LIST_SMALL: &str = "list_small_ms";
/// `list` with the large population present.
pub const LIST_LARGE: &str = "list_large_ms";
/// `state` of one container with the small population present.
pub const STATE_SMALL: &str = "state_small_ms";
/// `state` of one container with the large population present.
pub const STATE_LARGE: &str = "state_large_ms";
/// The smallest `linux.resources.memory.limit` under which `run /bin/true` succeeds.
pub const MEMORY_LIMIT: &str = "min_memory_limit_kib";

/// How many containers the scale measures use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    /// `create`s started at once.
    pub parallel: usize,
    /// Containers present for the first `list`/`state` figure.
    pub small: usize,
    /// Containers present for the second.
    pub large: usize,
}

/// One reported figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Key in results.json and in each runtime's samples.
    pub key: &'static str,
    /// Label in the tables and the chart.
    pub label: String,
    /// Unit of the samples: `ms`, `KiB` or `count`.
    pub unit: &'static str,
}

impl Measure {
    /// Timings are what the chart shows.
    pub fn is_timing(&self) -> bool {
        self.unit == "ms"
    }
}

/// Every measure, in report order.
pub fn catalog(s: &Sizes) -> Vec<Measure> {
    let m = |key, label: String, unit| Measure { key, label, unit };
    vec![
        m(RUN, "run /bin/true (create+start+wait+delete)".into(), "ms"),
        m(
            CYCLE,
            "create + start + delete (sum of the calls)".into(),
            "ms",
        ),
        m(CREATE, "create".into(), "ms"),
        m(START, "start".into(), "ms"),
        m(STATE, "state (created container)".into(), "ms"),
        m(KILL, "kill KILL (running sleep)".into(), "ms"),
        m(DELETE, "delete --force (stopped)".into(), "ms"),
        m(EXEC, "exec /bin/true (running container)".into(), "ms"),
        m(EXIT_WAIT, "start returned -> process exited".into(), "ms"),
        m(CREATE_RSS, "create: peak RSS of runtime".into(), "KiB"),
        m(EXEC_RSS, "exec: peak RSS of runtime".into(), "KiB"),
        m(RUN_RSS, "run: peak RSS of runtime".into(), "KiB"),
        m(INIT_RSS, "created: init VmRSS".into(), "KiB"),
        m(INIT_ANON, "created: init RssAnon".into(), "KiB"),
        m(OTHERS_RSS, "created: other runtime procs RSS".into(), "KiB"),
        m(
            PARALLEL_CREATE,
            format!("{} creates in parallel: wall time", s.parallel),
            "ms",
        ),
        m(
            PARALLEL_FAILURES,
            format!("{} creates in parallel: failures", s.parallel),
            "count",
        ),
        m(
            PARALLEL_DELETE,
            format!("{} deletes in parallel: wall time", s.parallel),
            "ms",
        ),
        m(LIST_SMALL, format!("list, {} containers", s.small), "ms"),
        m(LIST_LARGE, format!("list, {} containers", s.large), "ms"),
        m(STATE_SMALL, format!("state, {} containers", s.small), "ms"),
        m(STATE_LARGE, format!("state, {} containers", s.large), "ms"),
        m(
            MEMORY_LIMIT,
            "smallest memory limit run starts under".into(),
            "KiB",
        ),
    ]
}
