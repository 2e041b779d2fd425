// The runtime calls ring and perf buffer callbacks through the module's
// function table: export it (wasm-ld --export-table), as C guests do.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=--export-table");
    }
}
