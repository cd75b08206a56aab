//! The release link (scripts/build-release.sh) reads hot-symbols.txt through a linker
//! flag, which cargo does not track: a changed list must relink the binary.
fn main() {
    println!("cargo:rerun-if-changed=hot-symbols.txt");
}
