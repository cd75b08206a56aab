//! Runs a container from an OCI bundle without the `quai` CLI, the way an embedder
//! would: `cargo run -p libcontainer --example run_bundle -- <bundle> [id]` (as root).
//! Prints the container's exit code and removes it.

use libcontainer::container::ContainerBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bundle = args.next().ok_or("usage: run_bundle <bundle> [id]")?;
    let id = args
        .next()
        .unwrap_or_else(|| format!("example-{}", std::process::id()));
    let root = std::env::temp_dir().join("quai-example-root");

    let mut c = ContainerBuilder::new(&id)?
        .root(&root)
        .create(bundle.as_ref())?;
    println!("created {} (status {})", c.id(), c.state()?.status);
    c.start()?;
    let code = c.wait()?;
    println!("container exited with {code}");
    c.delete(true)?;
    Ok(())
}
