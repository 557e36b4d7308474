// `volume(...)` with `source` (a resource placeholder), `path` and `read_only`.
use score_fly_macros::score_workload;

include!("../support/agree.rs");

#[score_workload(
    name = "volumes",
    volume("/data", source = "${resources.data}"),
    volume("/var/cache/app", source = "${resources.cache}", path = "app/cache", read_only = true),
    resource(data, type = "volume"),
    resource(cache, type = "volume", class = "ephemeral")
)]
fn main() {
    let w = check_agreement(file!());
    let volumes = &w["containers"]["main"]["volumes"];
    assert_eq!(volumes["/data"]["source"], "${resources.data}");
    assert_eq!(volumes["/var/cache/app"]["path"], "app/cache");
    assert_eq!(volumes["/var/cache/app"]["readOnly"], true);
}
