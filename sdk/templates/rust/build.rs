// Without feature ext the runtime calls the ring buffer's closure through
// the module's function table: export it (wasm-ld --export-table).
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=--export-table");
    }
}
