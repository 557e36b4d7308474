use score_fly_macros::score_workload;

#[score_workload(name = "web")]
struct Service;

fn main() {
    let _ = Service;
}
