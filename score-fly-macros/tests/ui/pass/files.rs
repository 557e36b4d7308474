// `file(...)` with `content` (expanded and `no_expand`), `source`, `binary_content`, `mode`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "files",
    file("/etc/app/app.toml", content = "name = \"${metadata.name}\"\nport = 8080\n", mode = "0644"),
    file("/etc/app/raw.txt", content = "kept as is: ${whatever}", no_expand = true, mode = "600"),
    file("/etc/app/from-disk.conf", source = "config/app.conf", no_expand = false),
    file("/etc/app/logo.bin", binary_content = "aGVsbG8gd29ybGQ=", mode = "0444")
)]
fn main() {
    let w = check_agreement(file!());
    let files = &w["containers"]["main"]["files"];
    assert_eq!(files["/etc/app/app.toml"]["mode"], "0644");
    assert_eq!(files["/etc/app/raw.txt"]["noExpand"], true);
    assert_eq!(files["/etc/app/from-disk.conf"]["source"], "config/app.conf");
    assert_eq!(files["/etc/app/logo.bin"]["binaryContent"], "aGVsbG8gd29ybGQ=");
}
