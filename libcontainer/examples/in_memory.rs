//! Runs a container with no bundle on disk: the spec is built in Rust, and the
//! container's stdin, stdout and stderr are pipes this program writes and reads; while
//! it runs, a second process is exec'd into it.
//! `cargo run -p libcontainer --example in_memory -- <rootfs> [id]` (as root; the rootfs
//! is a busybox tree). Prints what the container wrote and its exit code, then removes it.

use std::io::{Read, Write};

use libcontainer::container::{ContainerBuilder, ExecOptions};
use libcontainer::spec::Spec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rootfs = args.next().ok_or("usage: in_memory <rootfs> [id]")?;
    let id = args
        .next()
        .unwrap_or_else(|| format!("in-memory-{}", std::process::id()));
    let root = std::env::temp_dir().join("quai-example-root");

    // The runtime-spec's defaults (namespaces, mounts, capabilities, a read-only root),
    // with our own process.
    let mut spec = Spec::default();
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(vec![
        "/bin/sh".into(),
        "-c".into(),
        "read name; echo hello $name from $(hostname); echo to stderr >&2; read _; exit 7".into(),
    ]));
    process.set_terminal(Some(false));
    // The exec'd process: the container's, with other args (its stdio is ours).
    let mut exec = process.clone();
    exec.set_args(Some(vec![
        "/bin/sh".into(),
        "-c".into(),
        "echo exec in $(hostname); exit 3".into(),
    ]));
    spec.set_process(Some(process));
    spec.set_hostname(Some("in-memory".into()));

    let (stdin_r, mut stdin_w) = std::io::pipe()?;
    let (mut stdout_r, stdout_w) = std::io::pipe()?;
    let (mut stderr_r, stderr_w) = std::io::pipe()?;
    let mut c = ContainerBuilder::new(&id)?
        .root(&root)
        .stdin(stdin_r)
        .stdout(stdout_w)
        .stderr(stderr_w)
        .create_from_spec(spec, rootfs.as_ref())?;
    let st = c.state()?;
    // With no bundle, the state names the rootfs's parent as the bundle directory.
    println!(
        "created {} (status {}, bundle {})",
        c.id(),
        st.status,
        st.bundle.display()
    );
    c.start()?;
    stdin_w.write_all(b"embedder\n")?;
    // The container waits for a second line: exec into it meanwhile.
    let status = c.exec(&exec, &ExecOptions::default())?.wait()?;
    println!("exec exited with {status}");
    stdin_w.write_all(b"done\n")?;
    drop(stdin_w);
    // The builder gave its ends of the pipes away with `create`: end-of-file comes when
    // the container's process exits.
    let mut said = String::new();
    stdout_r.read_to_string(&mut said)?;
    let mut errors = String::new();
    stderr_r.read_to_string(&mut errors)?;
    let code = c.wait()?;
    print!("container said: {said}");
    print!("container's stderr: {errors}");
    println!("container exited with {code}");
    c.delete(true)?;
    Ok(())
}
